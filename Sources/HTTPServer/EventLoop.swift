import CLinux
import Glibc
import Synchronization
import Threads

/// Something registered with an event loop for readiness events on one descriptor.
protocol EventHandler: AnyObject {
    /// Called on the loop thread with the `epoll_event.events` bits.
    func handle(events: UInt32)
}

/// One thread running `epoll_wait`, the connections it owns, and a queue of work
/// from other threads. It is also a `TaskExecutor`: request handlers run as tasks
/// that prefer this loop, so a handler and its connection share a thread, and a
/// handler that suspends (database, timer) frees the loop for other connections.
final class EventLoop: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: every mutable stored property below `queue` is touched
    // only on the loop's own thread; `queue` and `sleeping` are synchronised.

    let index: Int
    let epollFD: Int32
    private let wakeFD: Int32
    private let queue = Mutex<[Work]>([])
    private let sleeping = Atomic<Bool>(false)
    private let threadID = Atomic<UInt>(0)

    private enum Work {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    // Loop-confined state.
    private var handlers: [(any EventHandler)?] = []
    private var running = true
    private var tickHandler: (() -> Void)?
    /// Other modules' periodic checks (``DescriptorWatcher/everyTick(_:)``).
    private var tickChecks: [() -> Bool] = []
    /// See ``Server/Configuration/yieldAfterBusyBatch``.
    var yieldAfterBusyBatch = true
    /// The scratch buffer every read on this loop goes through.
    let readBuffer: UnsafeMutableRawBufferPointer
    static let readBufferSize = 64 * 1024
    /// `Date:` header value for the current second.
    private(set) var httpDate: [UInt8] = []
    private var httpDateSecond: Int64 = -1

    init(index: Int) throws(SocketError) {
        self.index = index
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw .failed(call: "epoll_create1", errno: errno) }
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeFD >= 0 else { throw .failed(call: "eventfd", errno: errno) }
        readBuffer = .allocate(byteCount: Self.readBufferSize, alignment: 16)
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(fd: wakeFD))
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event) == 0 else {
            throw .failed(call: "epoll_ctl(eventfd)", errno: errno)
        }
    }

    deinit {
        close(epollFD)
        close(wakeFD)
        readBuffer.deallocate()
    }

    /// Whether the caller runs on this loop's thread.
    var inEventLoop: Bool { threadID.load(ordering: .relaxed) == UInt(pthread_self()) }

    // MARK: Work from any thread

    func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    /// Runs `work` on the loop thread soon.
    func execute(_ work: @escaping @Sendable () -> Void) {
        submit(.closure(work))
    }

    private func submit(_ work: Work) {
        queue.withLock { $0.append(work) }
        if sleeping.exchange(false, ordering: .sequentiallyConsistent) {
            var one: UInt64 = 1
            _ = Glibc.write(wakeFD, &one, 8)
        }
    }

    private func runQueued() -> Bool {
        let work = queue.withLock { queue -> [Work] in
            if queue.isEmpty { return [] }
            let taken = queue
            queue.removeAll(keepingCapacity: true)
            return taken
        }
        if work.isEmpty { return false }
        let executor = asUnownedTaskExecutor()
        for item in work {
            switch item {
            case .job(let job): job.runSynchronously(on: executor)
            case .closure(let closure): closure()
            }
        }
        return true
    }

    // MARK: Registration (loop thread)

    func register(fd: Int32, events: UInt32, handler: any EventHandler) throws(SocketError) {
        var event = epoll_event(events: events, data: epoll_data_t(fd: fd))
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0 else {
            throw .failed(call: "epoll_ctl(ADD)", errno: errno)
        }
        let slot = Int(fd)
        if slot >= handlers.count { handlers.append(contentsOf: repeatElement(nil, count: slot - handlers.count + 1024)) }
        handlers[slot] = handler
    }

    func modify(fd: Int32, events: UInt32) {
        var event = epoll_event(events: events, data: epoll_data_t(fd: fd))
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    /// Forgets `fd`; the caller closes it.
    func unregister(fd: Int32) {
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
        if Int(fd) < handlers.count { handlers[Int(fd)] = nil }
    }

    /// Called about every 250 ms on the loop thread (timeouts, shutdown).
    func onTick(_ handler: @escaping () -> Void) { tickHandler = handler }

    /// Makes `run` return after the current iteration.
    func stop() { running = false }

    // MARK: The loop

    /// Runs until `stop()`; call on the loop's own thread.
    func run() {
        threadID.store(UInt(pthread_self()), ordering: .relaxed)
        DescriptorWatchers.setCurrent(self)
        defer { DescriptorWatchers.clearCurrent() }
        let capacity = 512
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        let tickInterval: UInt64 = 250_000_000
        var nextTick = clinux_monotonic_ns() + tickInterval
        refreshDate()
        while running {
            var timeout = Int32(max(0, Int64(nextTick) - Int64(clinux_monotonic_ns())) / 1_000_000) + 1
            sleeping.store(true, ordering: .sequentiallyConsistent)
            if queue.withLock({ !$0.isEmpty }) {
                sleeping.store(false, ordering: .relaxed)
                timeout = 0
            }
            let count = epoll_wait(epollFD, events, Int32(capacity), timeout)
            sleeping.store(false, ordering: .relaxed)
            if count > 0 {
                refreshDate()
                for i in 0..<Int(count) {
                    let fd = events[i].data.fd
                    if fd == wakeFD {
                        var value: UInt64 = 0
                        _ = Glibc.read(wakeFD, &value, 8)
                    } else if Int(fd) < handlers.count, let handler = handlers[Int(fd)] {
                        handler.handle(events: events[i].events)
                    }
                }
            }
            // After a busy batch, let another runnable thread on this core go first.
            // With two loops sharing a core (a load generator holds the other),
            // the kernel would otherwise switch only every few-ms time slice, and
            // that slice becomes every connection's p99. Costs one syscall per batch.
            if yieldAfterBusyBatch && count > 8 { sched_yield() }
            // Drain tasks and closures; they may schedule more (bounded rounds).
            var rounds = 0
            while runQueued() && rounds < 16 { rounds += 1 }
            let now = clinux_monotonic_ns()
            if now >= nextTick {
                nextTick = now + tickInterval
                refreshDate()
                tickHandler?()
                if !tickChecks.isEmpty { tickChecks = tickChecks.filter { $0() } }
            }
        }
        // Run what is left so that no task is stranded.
        while runQueued() {}
    }

    private func refreshDate() {
        let now = clinux_realtime_s()
        guard now != httpDateSecond else { return }
        httpDateSecond = now
        httpDate = Array(HTTPDate.format(epochSeconds: now).utf8)
    }
}

/// IMF-fixdate (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
enum HTTPDate {
    static func format(epochSeconds: Int64) -> String {
        var time = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

// MARK: Descriptors of other modules

extension EventLoop: DescriptorWatcher {
    /// Adapts a closure to ``EventHandler``.
    private final class Watched: EventHandler {
        let readable: () -> Void
        init(_ readable: @escaping () -> Void) { self.readable = readable }
        func handle(events: UInt32) { readable() }
    }

    func watch(_ fd: Int32, _ readable: @escaping () -> Void) -> Bool {
        do throws(SocketError) {
            try register(fd: fd, events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue, handler: Watched(readable))
            return true
        } catch {
            return false
        }
    }

    func unwatch(_ fd: Int32) { unregister(fd: fd) }

    func everyTick(_ check: @escaping () -> Bool) { tickChecks.append(check) }
}
