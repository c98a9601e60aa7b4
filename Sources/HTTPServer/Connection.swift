import CLinux
import COpenSSL
import Glibc
import Logging
import Synchronization

/// One client connection: reads and parses requests, runs handlers, writes
/// responses in order. All of its state lives on its event loop's thread; tasks
/// that hold a reference hop back to the loop (``onLoop(_:)``) before touching it.
final class Connection: EventHandler, @unchecked Sendable {
    // @unchecked Sendable: confined to `loop`'s thread, see above.

    typealias Phase = ConnectionState.Phase

    let fd: Int32
    let loop: EventLoop
    let core: ServerCore
    let remoteAddress: String
    unowned let owner: LoopConnections
    /// Position in `owner`'s list, for O(1) removal.
    var slot = 0

    /// The phase, keep-alive and deadline, changed only by its transitions.
    var state: ConnectionState
    var phase: Phase { state.phase }
    var keepAlive: Bool { state.keepAlive }
    var deadline: UInt64 { state.deadline }
    // Input.
    var inbox: [UInt8] = []
    var inboxStart = 0
    var scanner = HeadScanner()
    var canRead = false
    var peerHungUp = false
    // The request being read or handled.
    var head: RequestHead?
    var match: Router.Match = .notFound
    var body: [UInt8] = []
    var bodyRemaining = 0
    var chunkedDecoder: ChunkedDecoder?
    var requestStart: UInt64 = 0
    /// What the route's admission check returned for the request being read.
    var admission: (any Sendable)?
    // Output.
    var output: [[UInt8]] = []
    var outputOffset = 0
    var outputBytes = 0
    var drainWaiter: CheckedContinuation<Void, any Error>?
    /// Too much unsent output: no reading and no parsing until it drains.
    /// The TLS session (OpenSSL `SSL*`), or nil for plain HTTP.
    var tls: OpaquePointer?
    /// The TLS handshake is not finished yet (its deadline is the head's).
    var handshaking = false
    /// When unsent output must have moved (monotonic ns; 0 = none).
    var writeDeadline: UInt64 = 0

    init(fd: Int32, loop: EventLoop, core: ServerCore, remoteAddress: String, owner: LoopConnections) {
        self.fd = fd
        self.loop = loop
        self.core = core
        self.remoteAddress = remoteAddress
        self.owner = owner
        let configuration = core.configuration
        state = ConnectionState(
            timeouts: .init(
                idle: configuration.idleTimeout.nanoseconds, header: configuration.headerReadTimeout.nanoseconds,
                body: configuration.bodyReadTimeout.nanoseconds, minBodyBytesPerSecond: configuration.minBodyBytesPerSecond),
            outputLimits: .init(bytes: configuration.maxPendingOutputBytes, responses: configuration.maxPendingResponses),
            now: clinux_monotonic_ns())
    }

    /// Runs `work` on the loop thread: now if already there, else queued.
    func onLoop(_ work: @escaping @Sendable (Connection) -> Void) {
        if loop.inEventLoop {
            work(self)
        } else {
            loop.execute { work(self) }
        }
    }

    // MARK: Events

    func handle(events: UInt32) {
        if events & EPOLLERR.rawValue != 0 {
            close()
            return
        }
        if events & EPOLLOUT.rawValue != 0, !output.isEmpty {
            flush()
        }
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue) != 0 {
            if events & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue) != 0 { peerHungUp = true }
            canRead = true
            readAvailable()
        } else if tls != nil && events & EPOLLOUT.rawValue != 0 {
            // A TLS read (the handshake) may have been waiting for the socket to
            // take its reply: SSL_ERROR_WANT_WRITE maps to EPOLLOUT.
            canRead = true
            readAvailable()
        }
    }

    /// Reads while the socket has data and the connection may take more input.
    func readAvailable() {
        let buffer = loop.readBuffer
        reading: while canRead && !state.pausedForOutput {
            switch phase {
            case .idle, .head, .body, .lingering: break
            case .admitting, .handling, .streaming, .closing: break reading
            case .closed: return
            }
            let count = tls.map { transportReadTLS($0, buffer) } ?? Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count > 0 {
                // A short read drained the socket; new data raises a new edge. After a
                // hang-up, read on until end of file. TLS reads return one record at a
                // time (and may hold decrypted bytes, SSL_pending), so they go on until
                // OpenSSL says WANT_READ.
                if count < buffer.count && !peerHungUp && tls == nil { canRead = false }
                if phase == .lingering { continue }
                inbox.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<count]).bindMemory(to: UInt8.self))
                processInbox()
            } else if count == 0 {
                canRead = false
                endOfInput()
                break reading
            } else {
                let code = errno
                if code == EINTR { continue }
                canRead = false
                if code != EAGAIN && code != EWOULDBLOCK {
                    close()
                    return
                }
            }
        }
        // Always flush here: with edge-triggered EPOLLOUT, output queued while the
        // socket stayed writable raises no new event, so nobody else would.
        if phase != .closed && !output.isEmpty { flush() }
    }

    /// `SSL_read` with the result mapped onto `read(2)`'s: bytes, 0 at the end,
    /// -1 with `errno = EAGAIN` when OpenSSL wants the socket (read or write).
    private func transportReadTLS(_ ssl: OpaquePointer, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
        if handshaking && SSL_is_init_finished(ssl) == 1 {
            handshaking = false
            state.handshakeFinished(now: clinux_monotonic_ns())
        }
        if count > 0 { return Int(count) }
        switch SSL_get_error(ssl, count) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            errno = EAGAIN
            return -1
        case SSL_ERROR_ZERO_RETURN:
            return 0
        case SSL_ERROR_SYSCALL where errno == 0:
            return 0
        default:
            ERR_clear_error()
            errno = ECONNRESET
            return -1
        }
    }

    /// The client sent FIN: answer what is complete, then close.
    private func endOfInput() {
        if state.endOfInput(outputPending: !output.isEmpty) == .close { close() }
    }

    // MARK: Parsing

    /// Parses and dispatches as many requests as the buffered input holds.
    func processInbox() {
        while true {
            switch phase {
            case .idle, .head:
                if !state.nextRequestWanted(pendingBytes: outputBytes, pendingResponses: output.count) {
                    // The client is not reading its answers: stop taking questions.
                    compactInbox()
                    return
                }
                if phase == .idle {
                    // Empty lines before a request line are ignored (RFC 9112 §2.2).
                    while inbox.count - inboxStart >= 2 && inbox[inboxStart] == 0x0D && inbox[inboxStart + 1] == 0x0A {
                        inboxStart += 2
                    }
                    if inboxStart == inbox.count {
                        compactInbox()
                        return
                    }
                    state.headStarted(now: clinux_monotonic_ns())
                }
                let outcome: HeadScanner.Outcome
                do {
                    let limits = core.limits
                    outcome = try inbox.withUnsafeBufferPointer { all throws(HTTPError) in
                        try scanner.scan(UnsafeBufferPointer(rebasing: all[inboxStart...]), limits: limits)
                    }
                } catch {
                    fail(error)
                    return
                }
                guard case .complete(let length) = outcome else {
                    compactInbox()
                    return
                }
                let parsed: RequestHead
                do {
                    let limits = core.limits
                    parsed = try inbox.withUnsafeBufferPointer { all throws(HTTPError) in
                        try HTTPParser.parseHead(UnsafeBufferPointer(rebasing: all[inboxStart..<(inboxStart + length)]), limits: limits)
                    }
                } catch {
                    fail(error)
                    return
                }
                inboxStart += length
                scanner.reset()
                beginRequest(parsed)
            case .body:
                guard readBody() else {
                    compactInbox()
                    return
                }
                dispatch()
            case .admitting, .handling, .streaming, .closing, .lingering, .closed:
                compactInbox()
                return
            }
        }
    }

    private func beginRequest(_ parsed: RequestHead) {
        requestStart = clinux_monotonic_ns()
        head = parsed
        let path = parsed.target.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(parsed.target[..<$0]) } ?? parsed.target
        match = core.router.match(parsed.method, path: path)
        var plan = ConnectionState.BodyPlan(
            framing: parsed.framing, routed: false, maxBodyBytes: 0, admission: false, buffered: inbox.count - inboxStart,
            expectsContinue: parsed.expectsContinue)
        if case .found(let route, _) = match {
            plan.routed = true
            plan.admission = route.admission != nil
            plan.maxBodyBytes =
                route.maxBodyBytes
                ?? (route.admission == nil ? core.configuration.anonymousMaxBodyBytes : core.configuration.maxBodyBytes)
        }
        body = []
        admission = nil
        switch state.headParsed(keepAlive: parsed.keepAlive, body: plan, now: clinux_monotonic_ns()) {
        case .dispatch:
            dispatch()
        case .refuse(let error):
            fail(error)
        case .admit:
            // Nothing is allocated for the body before the caller is admitted.
            prepareBody(parsed, maxBody: plan.maxBodyBytes, reserve: false)
            admit(parsed)
        case .readBody(let sendContinue):
            prepareBody(parsed, maxBody: plan.maxBodyBytes, reserve: true)
            if sendContinue { enqueue(Self.continueLine) }
        }
    }

    static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// How the body is read (its length, or a chunked decoder), with its buffer
    /// reserved once the body will be read.
    func prepareBody(_ parsed: RequestHead, maxBody: Int, reserve: Bool) {
        switch parsed.framing {
        case .contentLength(let length):
            bodyRemaining = length
            if reserve { body.reserveCapacity(min(length, 1 << 20)) }
        case .chunked:
            if chunkedDecoder == nil { chunkedDecoder = ChunkedDecoder(maxBodyBytes: maxBody) }
        case .none:
            break
        }
    }

    /// Moves body bytes out of the inbox; true when the body is complete.
    private func readBody() -> Bool {
        if var decoder = chunkedDecoder {
            defer { state.bodyProgressed(received: body.count) }
            do {
                let consumed = try inbox.withUnsafeBufferPointer { all throws(HTTPError) in
                    try decoder.decode(UnsafeBufferPointer(rebasing: all[inboxStart...]), into: &body)
                }
                inboxStart += consumed
                chunkedDecoder = decoder
            } catch {
                chunkedDecoder = nil
                fail(error)
                return false
            }
            if decoder.isDone {
                chunkedDecoder = nil
                return true
            }
            return false
        }
        let take = min(bodyRemaining, inbox.count - inboxStart)
        if take > 0 {
            body.append(contentsOf: inbox[inboxStart..<(inboxStart + take)])
            inboxStart += take
            bodyRemaining -= take
            state.bodyProgressed(received: body.count)
        }
        return bodyRemaining == 0
    }

    private func compactInbox() {
        if inboxStart == inbox.count {
            if inbox.capacity > 16 * 1024 { inbox = [] } else { inbox.removeAll(keepingCapacity: true) }
            inboxStart = 0
        } else if inboxStart > 0 && (inboxStart >= 4096 || inboxStart * 2 >= inbox.count) {
            inbox.removeFirst(inboxStart)
            inboxStart = 0
        }
    }
}
