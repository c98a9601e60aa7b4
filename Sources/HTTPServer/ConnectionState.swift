/// The life of one connection as a value: which phase it is in, whether it stays
/// open after the current request, and when it times out — with every change of
/// phase a `mutating` transition that returns what the connection must do.
///
/// ``Connection`` owns the socket, the buffers and TLS, and runs the actions; this
/// type owns the decisions, so they are tested without sockets
/// (`ConnectionStateTests`): pipelining, `100 Continue`, admission refused, the
/// body deadline, back-pressure and closing while writing.
struct ConnectionState: Sendable, Equatable {
    enum Phase: Sendable, Equatable {
        /// Waiting for the first byte of a request.
        case idle
        /// Reading a request head.
        case head
        /// The route's admission check runs on the head; the body waits unread.
        case admitting
        /// Reading a request body, begun at `started` (monotonic ns).
        case body(started: UInt64)
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

    /// The times a connection is allowed (monotonic nanoseconds).
    struct Timeouts: Sendable, Equatable {
        var idle: UInt64
        var header: UInt64
        var body: UInt64
        /// A body earns one more second per this many bytes received.
        var minBodyBytesPerSecond: Int
        /// How long a closing connection reads and discards before it closes.
        var linger: UInt64 = 2_000_000_000
    }

    /// Pipelining back-pressure: a client that sends requests without reading the
    /// answers gets no more of them parsed once this much output waits unsent, and
    /// more only when half of it has gone (so it does not flap at the edge).
    struct OutputLimits: Sendable, Equatable {
        var bytes: Int
        var responses: Int
    }

    /// The request's body as its head and route describe it.
    struct BodyPlan: Sendable, Equatable {
        var framing: BodyFraming
        /// Whether a route took the request; unrouted requests are answered without reading a body.
        var routed: Bool
        /// The most body bytes the route takes (0: none).
        var maxBodyBytes: Int
        /// The route checks the caller on the head first.
        var admission: Bool
        /// Body bytes already buffered behind the head.
        var buffered: Int
        /// `Expect: 100-continue` on HTTP/1.1.
        var expectsContinue: Bool
    }

    /// What to do with a request head.
    enum HeadAction: Sendable, Equatable {
        /// Answer it now (no body, or an unrouted one left unread: the connection then closes).
        case dispatch
        /// Run the route's admission check; the body waits.
        case admit
        /// Read the body; first send `100 Continue` if asked.
        case readBody(sendContinue: Bool)
        /// Refuse it: answer with this error and close.
        case refuse(HTTPError)
    }

    /// What to do when a deadline passes.
    enum TimeoutAction: Sendable, Equatable {
        case none
        case close
        /// Answer 408 and close.
        case requestTimeout
    }

    /// What to do when the client has sent its last byte (FIN), or the server drains.
    enum EndAction: Sendable, Equatable {
        case none
        case close
        /// Close once the queued output is written.
        case closeWhenWritten
    }

    private(set) var phase = Phase.idle
    /// Whether the connection stays open after the current request.
    private(set) var keepAlive = true
    /// When the current phase times out (monotonic ns; 0: never).
    private(set) var deadline: UInt64
    /// Input is left unread until the client reads its answers (``OutputLimits``).
    private(set) var pausedForOutput = false
    let timeouts: Timeouts
    let outputLimits: OutputLimits

    init(timeouts: Timeouts, outputLimits: OutputLimits = .init(bytes: .max, responses: .max), now: UInt64) {
        self.timeouts = timeouts
        self.outputLimits = outputLimits
        deadline = now + timeouts.idle
    }

    /// Whether input is read now: in these phases, and not while paused for output
    /// (the rest wait for a response, or are done).
    var readsInput: Bool {
        guard !pausedForOutput else { return false }
        return switch phase {
        case .idle, .head, .body, .lingering: true
        case .admitting, .handling, .streaming, .closing, .closed: false
        }
    }

    var isClosed: Bool { phase == .closed }

    // MARK: Transitions

    /// Before parsing the next pipelined request: with this much output unsent, stop
    /// taking requests (true: pause, leaving the rest of the input unread).
    mutating func nextRequestWanted(pendingBytes: Int, pendingResponses: Int) -> Bool {
        guard phase == .idle, !pausedForOutput else { return !pausedForOutput }
        if pendingBytes > outputLimits.bytes || pendingResponses > outputLimits.responses { pausedForOutput = true }
        return !pausedForOutput
    }

    /// Output was written: true when a paused connection has drained to half its
    /// limits and should take requests again.
    mutating func outputWritten(pendingBytes: Int, pendingResponses: Int) -> Bool {
        guard pausedForOutput, phase != .closed,
            pendingBytes <= outputLimits.bytes / 2, pendingResponses <= outputLimits.responses / 2
        else { return false }
        pausedForOutput = false
        return true
    }

    /// The first byte of a request arrived: its head must come within the header timeout.
    mutating func headStarted(now: UInt64) {
        guard phase == .idle else { return }
        phase = .head
        deadline = now + timeouts.header
    }

    /// A TLS handshake begins: it is held to the head's deadline, not the idle
    /// timer, so a client trickling it a byte at a time is cut as a slow head is.
    mutating func handshakeStarted(now: UInt64) {
        if phase == .idle { deadline = now + timeouts.header }
    }

    /// A TLS handshake finished while idle: the idle time starts now.
    mutating func handshakeFinished(now: UInt64) {
        if phase == .idle { deadline = now + timeouts.idle }
    }

    /// A complete head, its route and its body: answer, check the caller, read the
    /// body, or refuse. A body is never read (and `100 Continue` never sent) before
    /// the route is known to take it and its caller is admitted — unless it came
    /// whole with its head, which costs nothing more to read.
    mutating func headParsed(keepAlive wanted: Bool, body plan: BodyPlan, now: UInt64) -> HeadAction {
        keepAlive = wanted
        switch plan.framing {
        case .none, .contentLength(0):
            return .dispatch
        case .contentLength, .chunked:
            if plan.maxBodyBytes == 0 && plan.routed {
                keepAlive = false
                return .refuse(HTTPError(.contentTooLarge, code: "content_too_large", message: "this route takes no request body"))
            }
            if plan.maxBodyBytes == 0 {
                // No route takes it: answer without reading it, then close (it still follows).
                keepAlive = false
                return .dispatch
            }
            if case .contentLength(let length) = plan.framing {
                guard length <= plan.maxBodyBytes else {
                    keepAlive = false
                    return .refuse(
                        HTTPError(
                            .contentTooLarge, code: "content_too_large", message: "request body larger than \(plan.maxBodyBytes) bytes"))
                }
                if plan.buffered < length && plan.admission { return startAdmission(now: now) }
            } else if plan.admission {
                return startAdmission(now: now)
            }
            return .readBody(sendContinue: startBody(now: now, expectsContinue: plan.expectsContinue, buffered: plan.buffered))
        }
    }

    private mutating func startAdmission(now: UInt64) -> HeadAction {
        phase = .admitting
        deadline = now + timeouts.header
        return .admit
    }

    /// Enters the body phase; whether to send `100 Continue` (asked for, and
    /// nothing of the body sent yet).
    private mutating func startBody(now: UInt64, expectsContinue: Bool, buffered: Int) -> Bool {
        phase = .body(started: now)
        deadline = bodyDeadline(received: 0)
        return expectsContinue && buffered == 0
    }

    /// The admission check passed: read the body.
    mutating func admitted(now: UInt64, expectsContinue: Bool, buffered: Int) -> Bool? {
        guard phase == .admitting else { return nil }  // closed meanwhile
        return startBody(now: now, expectsContinue: expectsContinue, buffered: buffered)
    }

    /// The admission check refused the caller: answer and close without reading the body.
    mutating func refused() -> Bool {
        guard phase == .admitting else { return false }
        keepAlive = false
        return true
    }

    /// `received` body bytes are in: the deadline moves by what they earned.
    mutating func bodyProgressed(received: Int) {
        if case .body = phase { deadline = bodyDeadline(received: received) }
    }

    /// `start + body timeout + received / minimum rate`: a body keeps its
    /// connection only by arriving at the minimum rate, however large its header said it is.
    func bodyDeadline(received: Int) -> UInt64 {
        guard case .body(let started) = phase else { return deadline }
        let earned = UInt64(received) * 1_000_000_000 / UInt64(max(1, timeouts.minBodyBytesPerSecond))
        return started + timeouts.body + earned
    }

    /// The request is complete and handed to its route (timers stop while it runs).
    mutating func dispatched(async: Bool) {
        deadline = 0
        if async { phase = .handling }
    }

    /// Whether an async handler's response is still wanted.
    var awaitsResponse: Bool { phase == .handling }

    /// A response goes out: `streamBody` when its body is produced as it is
    /// written (HTTP/1.0 cannot frame one: the connection then closes after it),
    /// `streamed` when that body is actually sent (not for HEAD, 204, 304).
    mutating func responding(streamBody: Bool, streamed: Bool, http10: Bool, draining: Bool) {
        if draining || (streamBody && http10) { keepAlive = false }
        if streamed { phase = .streaming }
    }

    /// Whether a streamed body is being written.
    var isStreaming: Bool { phase == .streaming }

    /// The response is queued: wait for the next request, or close once it is written.
    mutating func requestFinished(now: UInt64) -> EndAction {
        if keepAlive {
            phase = .idle
            deadline = now + timeouts.idle
            return .none
        }
        phase = .closing
        deadline = 0
        return .closeWhenWritten
    }

    /// Shuts the write side and reads for a moment so a client still sending gets
    /// the answer rather than a reset; `.close` when that is not worth it.
    mutating func linger(peerHungUp: Bool, draining: Bool, now: UInt64) -> EndAction {
        guard phase != .closed && phase != .lingering else { return .none }
        if peerHungUp || draining { return .close }
        phase = .lingering
        deadline = now + timeouts.linger
        return .none
    }

    /// An idle connection closes now, or once its answers are written.
    private mutating func closeIdle(outputPending: Bool) -> EndAction {
        guard outputPending else { return .close }
        phase = .closing
        return .closeWhenWritten
    }

    /// The client sent FIN.
    mutating func endOfInput(outputPending: Bool) -> EndAction {
        switch phase {
        case .idle:
            return closeIdle(outputPending: outputPending)
        case .head, .admitting, .body, .lingering:
            return .close
        case .handling, .streaming:
            keepAlive = false
            return .none
        case .closing, .closed:
            return .none
        }
    }

    /// The server drains: close what is idle, finish what is under way, then close.
    mutating func drain(outputPending: Bool) -> EndAction {
        switch phase {
        case .idle:
            return closeIdle(outputPending: outputPending)
        case .lingering:
            return .close
        default:
            keepAlive = false
            return .none
        }
    }

    /// The periodic sweep: what a passed deadline means in this phase.
    mutating func timedOut(now: UInt64) -> TimeoutAction {
        guard deadline != 0 && now >= deadline else { return .none }
        switch phase {
        case .idle, .lingering:
            return .close
        case .head, .body:
            deadline = 0
            keepAlive = false
            return .requestTimeout
        case .admitting:
            return .close  // the check itself hung (the database, say): the client may retry
        case .handling, .streaming, .closing, .closed:
            deadline = 0
            return .none
        }
    }

    /// A request that cannot be trusted is answered and the connection closes after it.
    mutating func failing() { keepAlive = false }

    /// The socket is closed.
    mutating func closed() {
        phase = .closed
        deadline = 0
        pausedForOutput = false
    }
}
