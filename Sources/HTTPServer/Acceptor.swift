import CLinux
import Glibc
import Logging
import Synchronization

/// The listening socket. It lives on the first event loop and hands accepted
/// connections to the loops in turn, so connections spread evenly (a burst of 64
/// from `wrk` lands 32 and 32 on two loops).
final class Acceptor: EventHandler, @unchecked Sendable {
    // @unchecked Sendable: used only on its loop's thread.

    let fd: Int32
    let port: Int
    private let loop: EventLoop
    private let core: ServerCore
    private let targets: [LoopConnections]
    private var next = 0
    private var armed = true
    private var pausedUntil: UInt64 = 0
    private var closed = false

    /// Binds and listens; does not register with the loop yet.
    init(configuration: Server.Configuration, loop: EventLoop, core: ServerCore, targets: [LoopConnections]) throws(SocketError) {
        self.loop = loop
        self.core = core
        self.targets = targets
        let address = try SocketAddress(host: configuration.host, port: configuration.port)
        let socketFD = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketFD >= 0 else { throw .failed(call: "socket", errno: errno) }
        var one: Int32 = 1
        setsockopt(socketFD, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        do throws(SocketError) {
            try address.withSockAddr { pointer, length throws(SocketError) in
                guard bind(socketFD, pointer, length) == 0 else {
                    throw .failed(call: "bind(\(configuration.host):\(configuration.port))", errno: errno)
                }
            }
            guard listen(socketFD, configuration.backlog) == 0 else { throw SocketError.failed(call: "listen", errno: errno) }
            port = try SocketAddress.localPort(of: socketFD)
        } catch {
            Glibc.close(socketFD)
            throw error
        }
        fd = socketFD
    }

    func register() throws(SocketError) {
        try loop.register(fd: fd, events: EPOLLIN.rawValue, handler: self)
    }

    func handle(events: UInt32) {
        acceptPending()
    }

    private func acceptPending() {
        let limit = core.configuration.maxConnections
        for _ in 0..<256 {
            if core.openConnections.load(ordering: .relaxed) >= limit {
                // Back off: leave newcomers in the kernel's backlog until some close.
                pause(until: 0)
                return
            }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    clinux_accept(fd, $0, &length)
                }
            }
            if client < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR, ECONNABORTED, EPROTO: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors or memory: stop accepting for 100 ms rather
                    // than spin; the next tick tries again.
                    core.logger.warning("accept failed, pausing", metadata: ["errno": "\(errno)"])
                    pause(until: clinux_monotonic_ns() + 100_000_000)
                    return
                default:
                    return
                }
            }
            let remote = SocketAddress.describe(storage)
            guard core.connectionOpened(address: remote) else {
                // One address may not hold more than its share: a short 503, then close.
                _ = core.tooManyConnections.withUnsafeBytes { Glibc.write(client, $0.baseAddress, $0.count) }
                Glibc.close(client)
                continue
            }
            var one: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            core.acceptedConnections.add(1, ordering: .relaxed)
            let target = targets[next]
            next = (next + 1) % targets.count
            if target.loop === loop {
                target.adopt(fd: client, remoteAddress: remote)
            } else {
                target.loop.execute { target.adopt(fd: client, remoteAddress: remote) }
            }
        }
    }

    private func pause(until time: UInt64) {
        guard armed else { return }
        armed = false
        pausedUntil = time
        loop.modify(fd: fd, events: 0)
    }

    /// Re-arms after a pause once the reason has passed (called on close and tick).
    func resumeIfPossible() {
        guard !armed, !closed else { return }
        if pausedUntil != 0 && clinux_monotonic_ns() < pausedUntil { return }
        if core.openConnections.load(ordering: .relaxed) >= core.configuration.maxConnections { return }
        armed = true
        loop.modify(fd: fd, events: EPOLLIN.rawValue)
        acceptPending()
    }

    /// Stops listening.
    func close() {
        guard !closed else { return }
        closed = true
        loop.unregister(fd: fd)
        Glibc.close(fd)
    }
}
