import CLinux
import Threads
import Glibc
public import Logging
import Synchronization

/// Arbiter's HTTP/1.1 server: non-blocking sockets, one epoll loop per core, no
/// SwiftNIO.
///
/// ```swift
/// var router = Router()
/// router.inline(.GET, "/healthz") { _ in .json(Array(#"{"status":"ok"}"#.utf8)) }
/// let server = Server(configuration: .init(), router: router, logger: logger)
/// try server.start()
/// print(server.port)
/// await server.shutdown()          // or: try await server.run() until SIGTERM
/// ```
public final class Server: Sendable {
    /// The configuration in force.
    public let configuration: Configuration
    private let core: ServerCore
    private let state = Mutex<State>(State())

    private struct State {
        var loops: [EventLoop] = []
        var acceptor: Acceptor?
        var port = 0
        var started = false
        var runningLoops = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var stopped = false
        var signalFD: Int32 = -1
    }

    /// Creates a server; nothing is bound until ``start()``.
    public init(configuration: Configuration = Configuration(), router: Router, logger: Logger = Logger(label: "arbiter.http")) {
        self.configuration = configuration
        self.core = ServerCore(router: router, configuration: configuration, logger: logger)
    }

    /// The bound port (useful with port 0).
    public var port: Int { state.withLock { $0.port } }

    /// Connections open now.
    public var openConnections: Int { core.openConnections.load(ordering: .relaxed) }

    /// Binds, listens and starts the event loop threads. Returns the bound port.
    @discardableResult
    public func start() throws(SocketError) -> Int {
        clinux_ignore_sigpipe()
        let loopCount = max(1, configuration.eventLoops)
        var loops: [EventLoop] = []
        for index in 0..<loopCount {
            let loop = try EventLoop(index: index)
            loop.yieldAfterBusyBatch = configuration.yieldAfterBusyBatch
            loops.append(loop)
        }
        let owners = loops.map { LoopConnections(loop: $0, core: core) }
        let acceptor = try Acceptor(configuration: configuration, loop: loops[0], core: core, targets: owners)
        try acceptor.register()
        for owner in owners {
            owner.onClose = { [loop0 = loops[0], acceptor] in
                if owner.loop === loop0 { acceptor.resumeIfPossible() }
            }
            owner.onDrained = { owner.loop.stop() }
        }
        owners[0].onTick = { acceptor.resumeIfPossible() }
        try state.withLock { state throws(SocketError) in
            guard !state.started else { throw SocketError.invalidAddress("server already started") }
            state.started = true
            state.loops = loops
            state.acceptor = acceptor
            state.port = acceptor.port
            state.runningLoops = loopCount
        }
        self.owners.withLock { $0 = owners }
        for loop in loops {
            OSThread.spawn(name: "http-loop-\(loop.index)") { [self] in
                loop.run()
                self.loopExited()
            }
        }
        core.logger.notice(
            "listening",
            metadata: [
                "host": "\(configuration.host)", "port": "\(acceptor.port)", "loops": "\(loopCount)",
                "scheme": "\(configuration.tls == nil ? "http" : "https")",
            ])
        return acceptor.port
    }

    private let owners = Mutex<[LoopConnections]>([])

    private func loopExited() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.runningLoops -= 1
            guard state.runningLoops == 0 else { return [] }
            state.stopped = true
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Graceful shutdown: stop accepting, close idle connections, let in-flight
    /// requests finish within ``Configuration/shutdownGracePeriod``, then return.
    public func shutdown() async {
        beginShutdown()
        await waitUntilStopped()
    }

    /// Starts a graceful shutdown without waiting for it.
    public func beginShutdown() {
        guard !core.draining.exchange(true, ordering: .sequentiallyConsistent) else { return }
        let (loops, acceptor) = state.withLock { ($0.loops, $0.acceptor) }
        let owners = self.owners.withLock { $0 }
        guard let acceptor, !loops.isEmpty else { return }
        let grace = configuration.shutdownGracePeriod
        loops[0].execute { acceptor.close() }
        for owner in owners {
            owner.loop.execute { owner.drain(gracePeriod: grace) }
        }
    }

    /// Suspends until every loop has stopped.
    public func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.stopped || !state.started { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Starts, then serves until SIGTERM or SIGINT, then shuts down gracefully.
    ///
    /// `onStarted` is called with the bound port once the server listens.
    public func run(onStarted: (Int) -> Void = { _ in }) async throws {
        let signalFD = eventfd(0, Int32(EFD_CLOEXEC))
        guard signalFD >= 0 else { throw SocketError.failed(call: "eventfd", errno: errno) }
        guard clinux_install_shutdown_signals(signalFD) == 0 else {
            throw SocketError.failed(call: "sigaction", errno: errno)
        }
        defer {
            clinux_reset_shutdown_signals()
            Glibc.close(signalFD)
        }
        onStarted(try start())
        // A plain thread blocks on the eventfd that the signal handler writes.
        OSThread.spawn(name: "signals") { [self] in
            var value: UInt64 = 0
            while Glibc.read(signalFD, &value, 8) < 0 && errno == EINTR {}
            core.logger.notice("shutting down")
            beginShutdown()
        }
        await waitUntilStopped()
        var one: UInt64 = 1
        _ = Glibc.write(signalFD, &one, 8)  // release the signal thread if still waiting
        core.logger.notice("stopped")
    }
}
