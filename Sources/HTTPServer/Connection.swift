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

    enum Phase {
        /// Waiting for the first byte of a request.
        case idle
        /// Reading a request head.
        case head
        /// The route's admission check runs on the head; the body waits unread.
        case admitting
        /// Reading a request body.
        case body
        /// A handler is running.
        case handling
        /// A streamed response body is being produced.
        case streaming
        /// The last response is queued; close once it is written.
        case closing
        /// Write side shut; discarding input briefly so the client reads our answer.
        case lingering
        case closed
    }

    let fd: Int32
    let loop: EventLoop
    let core: ServerCore
    let remoteAddress: String
    unowned let owner: LoopConnections
    /// Position in `owner`'s list, for O(1) removal.
    var slot = 0

    var phase = Phase.idle
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
    /// When the body began (monotonic ns): its deadline is counted from here.
    var bodyStart: UInt64 = 0
    var requestStart: UInt64 = 0
    var keepAlive = true
    /// What the route's admission check returned for the request being read.
    var admission: (any Sendable)?
    // Output.
    var output: [[UInt8]] = []
    var outputOffset = 0
    var outputBytes = 0
    var drainWaiter: CheckedContinuation<Void, any Error>?
    /// Too much unsent output: no reading and no parsing until it drains.
    var pausedForOutput = false
    /// The TLS session (OpenSSL `SSL*`), or nil for plain HTTP.
    var tls: OpaquePointer?
    /// The TLS handshake is not finished yet (its deadline is the head's).
    var handshaking = false
    // Timeouts (monotonic ns; 0 = none).
    var deadline: UInt64 = 0
    var writeDeadline: UInt64 = 0

    init(fd: Int32, loop: EventLoop, core: ServerCore, remoteAddress: String, owner: LoopConnections) {
        self.fd = fd
        self.loop = loop
        self.core = core
        self.remoteAddress = remoteAddress
        self.owner = owner
        deadline = clinux_monotonic_ns() + core.configuration.idleTimeout.nanoseconds
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
        reading: while canRead && !pausedForOutput {
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
            if phase == .idle { deadline = clinux_monotonic_ns() + core.configuration.idleTimeout.nanoseconds }
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
        switch phase {
        case .idle:
            if output.isEmpty { close() } else { phase = .closing }
        case .head, .admitting, .body, .lingering:
            close()
        case .handling, .streaming:
            keepAlive = false
        case .closing, .closed:
            break
        }
    }

    // MARK: Parsing

    /// Parses and dispatches as many requests as the buffered input holds.
    func processInbox() {
        while true {
            switch phase {
            case .idle, .head:
                if phase == .idle && outputIsBacklogged() {
                    // The client is not reading its answers: stop taking questions.
                    pausedForOutput = true
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
                    phase = .head
                    deadline = clinux_monotonic_ns() + core.configuration.headerReadTimeout.nanoseconds
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
        keepAlive = parsed.keepAlive
        let path = parsed.target.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(parsed.target[..<$0]) } ?? parsed.target
        match = core.router.match(parsed.method, path: path)
        let maxBody: Int
        switch match {
        case .found(let route, _):
            maxBody =
                route.maxBodyBytes
                ?? (route.admission == nil ? core.configuration.anonymousMaxBodyBytes : core.configuration.maxBodyBytes)
        case .notFound, .methodNotAllowed, .badPath:
            // No route takes this request's body: answer without reading it (no
            // `100 Continue`), then close, since the unread body still follows.
            maxBody = 0
        }
        body = []
        admission = nil
        switch parsed.framing {
        case .none, .contentLength(0):
            dispatch()
        case .contentLength, .chunked:
            if maxBody == 0, case .found = match {
                fail(HTTPError(.contentTooLarge, code: "content_too_large", message: "this route takes no request body"))
                return
            }
            if maxBody == 0 {
                keepAlive = false
                dispatch()
                return
            }
            if case .contentLength(let length) = parsed.framing {
                guard length <= maxBody else {
                    fail(HTTPError(.contentTooLarge, code: "content_too_large", message: "request body larger than \(maxBody) bytes"))
                    return
                }
                bodyRemaining = length
                // A body that came whole with its head costs nothing more to read: the
                // handler checks the caller as usual. Otherwise the caller is checked first.
                if inbox.count - inboxStart < length, admit(parsed) { return }
                body.reserveCapacity(min(length, 1 << 20))
            } else {
                chunkedDecoder = ChunkedDecoder(maxBodyBytes: maxBody)
                if admit(parsed) { return }
            }
            startBody(parsed)
        }
    }

    func startBody(_ parsed: RequestHead) {
        phase = .body
        bodyStart = clinux_monotonic_ns()
        // A deadline for the whole body, not an idle timer that each byte restarts:
        // a grace, then time earned only by the bytes received (see `readBody`).
        deadline = bodyDeadline(received: 0)
        if parsed.expectsContinue && inboxStart == inbox.count {
            enqueue(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
    }

    /// `bodyStart + bodyReadTimeout + received / minBodyBytesPerSecond`, in ns:
    /// a body keeps its connection only by arriving at the minimum rate.
    private func bodyDeadline(received: Int) -> UInt64 {
        let earned = UInt64(received) * 1_000_000_000 / UInt64(max(1, core.configuration.minBodyBytesPerSecond))
        return bodyStart + core.configuration.bodyReadTimeout.nanoseconds + earned
    }

    /// Moves body bytes out of the inbox; true when the body is complete.
    private func readBody() -> Bool {
        if var decoder = chunkedDecoder {
            defer { deadline = bodyDeadline(received: body.count) }
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
            deadline = bodyDeadline(received: body.count)
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
