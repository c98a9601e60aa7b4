import CLinux
import Glibc
import Synchronization

/// The connections one event loop owns, their timeouts, and its part in a
/// graceful shutdown. Loop-confined.
final class LoopConnections: @unchecked Sendable {
    // @unchecked Sendable: used only on `loop`'s thread (other threads go through
    // `loop.execute`).

    let loop: EventLoop
    let core: ServerCore
    private(set) var connections: [Connection] = []
    private var drainDeadline: UInt64 = 0
    private var draining = false
    private var drained = false
    /// Called on the loop thread when a connection closes (for the acceptor).
    var onClose: (() -> Void)?
    /// Called on the loop thread when draining has finished on this loop.
    var onDrained: (() -> Void)?
    /// Extra periodic work (the acceptor's resume check).
    var onTick: (() -> Void)?

    init(loop: EventLoop, core: ServerCore) {
        self.loop = loop
        self.core = core
        loop.onTick { [unowned self] in self.tick() }
    }

    /// Takes ownership of an accepted socket (on the loop thread).
    func adopt(fd: Int32, remoteAddress: String) {
        if draining {
            Glibc.close(fd)
            core.connectionClosed(address: remoteAddress)
            return
        }
        let connection = Connection(fd: fd, loop: loop, core: core, remoteAddress: remoteAddress, owner: self)
        if let context = core.configuration.tls {
            guard let session = context.session(fd: fd) else {
                Glibc.close(fd)
                core.connectionClosed(address: remoteAddress)
                return
            }
            connection.tls = session
            // The handshake is held to the head's deadline, not the idle timer: a
            // client trickling it a byte at a time is cut as a slow head would be.
            connection.handshaking = true
            connection.state.handshakeStarted(now: clinux_monotonic_ns())
        }
        do {
            let events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
            try loop.register(fd: fd, events: events, handler: connection)
        } catch {
            Glibc.close(fd)
            core.connectionClosed(address: remoteAddress)
            return
        }
        connection.slot = connections.count
        connections.append(connection)
    }

    func remove(_ connection: Connection) {
        let slot = connection.slot
        guard slot < connections.count, connections[slot] === connection else { return }
        let last = connections.removeLast()
        if slot < connections.count {
            connections[slot] = last
            last.slot = slot
        }
        core.connectionClosed(address: connection.remoteAddress)
        onClose?()
        if draining && connections.isEmpty { finishDrain() }
    }

    private func finishDrain() {
        guard !drained else { return }
        drained = true
        onDrained?()
    }

    private func tick() {
        let now = clinux_monotonic_ns()
        // Iterate over a copy: a timeout may close (and remove) connections.
        for connection in connections { connection.checkTimeouts(now: now) }
        onTick?()
        if draining && now >= drainDeadline {
            for connection in connections { connection.close() }
        }
    }

    /// Begins a graceful shutdown of this loop's connections.
    func drain(gracePeriod: Duration) {
        guard !draining else { return }
        draining = true
        drainDeadline = clinux_monotonic_ns() + gracePeriod.nanoseconds
        for connection in connections { connection.drain() }
        if connections.isEmpty { finishDrain() }
    }
}
