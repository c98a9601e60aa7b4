import Testing

@testable import HTTPCore
@testable import HTTPServer

/// The connection's transitions as values, with no socket: what each event does
/// to the phase, keep-alive and deadline, and which action it asks for. The socket
/// tests (ServerTests, ServerHostileTests, BackPressureTests, TLSDeadlineTests)
/// check the same behaviour through real connections.
@Suite struct ConnectionStateTests {
    static let second: UInt64 = 1_000_000_000
    static let timeouts = ConnectionState.Timeouts(
        idle: 60 * second, header: 10 * second, body: 30 * second, minBodyBytesPerSecond: 64 * 1024)

    func fresh(now: UInt64 = 0) -> ConnectionState { ConnectionState(timeouts: Self.timeouts, now: now) }

    func plan(
        _ framing: BodyFraming, routed: Bool = true, max: Int = 1 << 20, admission: Bool = false, buffered: Int = 0,
        expectsContinue: Bool = false
    ) -> ConnectionState.BodyPlan {
        .init(
            framing: framing, routed: routed, maxBodyBytes: max, admission: admission, buffered: buffered, expectsContinue: expectsContinue)
    }

    @Test func pipelinedRequestsGoIdleToHeadToAnswerAndBack() {
        var state = fresh()
        #expect(state.phase == .idle && state.deadline == 60 * Self.second && state.readsInput)
        for request in 0..<3 {
            let now = UInt64(request) * Self.second
            state.headStarted(now: now)
            #expect(state.phase == .head && state.deadline == now + 10 * Self.second)
            #expect(state.headParsed(keepAlive: true, body: plan(.none), now: now) == .dispatch)
            state.dispatched(async: true)
            #expect(state.phase == .handling && state.deadline == 0 && !state.readsInput, "no parsing while an answer is pending")
            #expect(state.awaitsResponse)
            state.responding(streamBody: false, streamed: false, http10: false, draining: false)
            #expect(state.requestFinished(now: now) == .none)
            #expect(state.phase == .idle && state.deadline == now + 60 * Self.second)
        }
    }

    /// A client pipelining requests without reading the answers: parsing stops once
    /// the unsent output passes a limit, nothing is read meanwhile, and it starts
    /// again only when half of it has gone — not at the first byte written.
    @Test func backPressurePausesPipelinedRequestsUntilHalfTheOutputIsWritten() {
        var state = ConnectionState(timeouts: Self.timeouts, outputLimits: .init(bytes: 1000, responses: 8), now: 0)
        func wanted(_ bytes: Int, _ responses: Int) -> Bool { state.nextRequestWanted(pendingBytes: bytes, pendingResponses: responses) }
        func written(_ bytes: Int, _ responses: Int) -> Bool { state.outputWritten(pendingBytes: bytes, pendingResponses: responses) }
        #expect(wanted(1000, 8), "at the limit: still taken")
        #expect(!state.pausedForOutput && state.readsInput)
        #expect(!wanted(1001, 1), "over it in bytes: paused")
        #expect(state.pausedForOutput && !state.readsInput, "and the socket is left unread")
        #expect(!wanted(0, 0), "only writing resumes it")
        #expect(!written(501, 0), "not at the first bytes written")
        #expect(!written(400, 5), "both limits must be half-drained")
        #expect(written(500, 4))
        #expect(!state.pausedForOutput && state.readsInput)
        #expect(!written(0, 0), "resumed once")
        #expect(!wanted(10, 9), "over it in responses: paused")
        // Closing while paused: nothing resumes a closed connection.
        state.closed()
        #expect(!state.pausedForOutput && !written(0, 0) && !state.readsInput)

        // A head already begun is finished: the limit applies between requests.
        var reading = ConnectionState(timeouts: Self.timeouts, outputLimits: .init(bytes: 10, responses: 1), now: 0)
        reading.headStarted(now: 0)
        let midHead = reading.nextRequestWanted(pendingBytes: 1 << 20, pendingResponses: 50)
        #expect(midHead)
    }

    @Test func continueIsSentOnlyWhenAskedNothingIsBufferedAndTheCallerIsAdmitted() {
        var state = fresh()
        #expect(
            state.headParsed(keepAlive: true, body: plan(.contentLength(10), expectsContinue: true), now: 5)
                == .readBody(sendContinue: true))
        if case .body(let started) = state.phase { #expect(started == 5) } else { Issue.record("\(state.phase)") }
        state = fresh()
        #expect(
            state.headParsed(keepAlive: true, body: plan(.contentLength(10), buffered: 3, expectsContinue: true), now: 5)
                == .readBody(sendContinue: false), "part of the body is already here")
        state = fresh()
        #expect(state.headParsed(keepAlive: true, body: plan(.contentLength(10), admission: true, expectsContinue: true), now: 5) == .admit)
        #expect(state.phase == .admitting && state.deadline == 5 + 10 * Self.second && !state.readsInput, "the body waits unread")
        #expect(state.admitted(now: 7, expectsContinue: true, buffered: 0) == true)
        #expect(state.admitted(now: 8, expectsContinue: true, buffered: 0) == nil, "only once, from admitting")
        // A body that came whole with its head is read at once, the caller checked by the handler.
        state = fresh()
        #expect(
            state.headParsed(keepAlive: true, body: plan(.contentLength(10), admission: true, buffered: 10), now: 5)
                == .readBody(sendContinue: false))
    }

    @Test func aRefusedCallerIsAnsweredAndTheConnectionClosesUnread() {
        var state = fresh()
        #expect(state.headParsed(keepAlive: true, body: plan(.chunked, admission: true), now: 0) == .admit)
        let refused = state.refused()
        #expect(refused)
        #expect(!state.keepAlive)
        #expect(state.requestFinished(now: 1) == .closeWhenWritten && state.phase == .closing)
        let again = state.refused()
        #expect(!again, "not twice")
    }

    @Test func bodiesNoRouteTakesAreNeverRead() {
        var state = fresh()
        #expect(state.headParsed(keepAlive: true, body: plan(.contentLength(1 << 25), routed: false, max: 0), now: 0) == .dispatch)
        #expect(!state.keepAlive, "answered without reading, then closed: the body still follows")
        state = fresh()
        guard case .refuse(let error) = state.headParsed(keepAlive: true, body: plan(.contentLength(5), max: 0), now: 0) else {
            Issue.record("a route that takes no body refuses one")
            return
        }
        #expect(error.status == .contentTooLarge && !state.keepAlive)
        state = fresh()
        guard case .refuse(let large) = state.headParsed(keepAlive: true, body: plan(.contentLength(2000), max: 1000), now: 0) else {
            Issue.record("a declared length over the route's limit is refused before reading")
            return
        }
        #expect(large.status == .contentTooLarge)
        state = fresh()
        #expect(state.headParsed(keepAlive: true, body: plan(.contentLength(0)), now: 0) == .dispatch && state.keepAlive)
    }

    @Test func aBodyEarnsTimeOnlyByArriving() {
        var state = fresh()
        _ = state.headParsed(keepAlive: true, body: plan(.contentLength(1 << 20)), now: 100)
        #expect(state.deadline == 100 + 30 * Self.second, "a grace, whatever the declared size")
        state.bodyProgressed(received: 128 * 1024)
        #expect(state.deadline == 100 + 32 * Self.second, "two seconds earned by 128 KiB at 64 KiB/s")
        #expect(state.timedOut(now: 100 + 31 * Self.second) == .none)
        #expect(state.timedOut(now: 100 + 32 * Self.second) == .requestTimeout)
        #expect(!state.keepAlive && state.deadline == 0)
    }

    @Test func eachPhaseKnowsWhatItsDeadlineMeans() {
        var idle = fresh()
        #expect(idle.timedOut(now: 60 * Self.second) == .close)
        var head = fresh()
        head.headStarted(now: 0)
        #expect(head.timedOut(now: 9 * Self.second) == .none)
        #expect(head.timedOut(now: 10 * Self.second) == .requestTimeout)
        var admitting = fresh()
        _ = admitting.headParsed(keepAlive: true, body: plan(.chunked, admission: true), now: 0)
        #expect(admitting.timedOut(now: 10 * Self.second) == .close, "a hung check: close, the client may retry")
        var handling = fresh()
        _ = handling.headParsed(keepAlive: true, body: plan(.none), now: 0)
        handling.dispatched(async: true)
        #expect(handling.timedOut(now: 1_000 * Self.second) == .none, "a handler is never cut by the request timers")
    }

    @Test func theClientsFinAndTheServersDrain() {
        var idle = fresh()
        #expect(idle.endOfInput(outputPending: false) == .close)
        var answered = fresh()
        #expect(answered.endOfInput(outputPending: true) == .closeWhenWritten && answered.phase == .closing)
        var head = fresh()
        head.headStarted(now: 0)
        #expect(head.endOfInput(outputPending: false) == .close, "half a request will never be finished")
        var handling = fresh()
        _ = handling.headParsed(keepAlive: true, body: plan(.none), now: 0)
        handling.dispatched(async: true)
        #expect(handling.endOfInput(outputPending: false) == .none && !handling.keepAlive, "answer, then close")
        #expect(handling.requestFinished(now: 0) == .closeWhenWritten)
        var draining = fresh()
        _ = draining.headParsed(keepAlive: true, body: plan(.none), now: 0)
        draining.dispatched(async: true)
        #expect(draining.drain(outputPending: false) == .none && !draining.keepAlive)
        var idleDrain = fresh()
        #expect(idleDrain.drain(outputPending: false) == .close)
    }

    @Test func closingWhileWritingLingersThenCloses() {
        var state = fresh()
        _ = state.headParsed(keepAlive: false, body: plan(.none), now: 0)
        state.dispatched(async: false)
        state.responding(streamBody: false, streamed: false, http10: false, draining: false)
        #expect(state.requestFinished(now: 0) == .closeWhenWritten && state.phase == .closing)
        #expect(!state.readsInput, "nothing more is parsed while the last answer is written")
        #expect(state.linger(peerHungUp: false, draining: false, now: 5) == .none)
        #expect(state.phase == .lingering && state.readsInput && state.deadline == 5 + 2 * Self.second)
        #expect(state.timedOut(now: 5 + 2 * Self.second) == .close)
        var hungUp = fresh()
        _ = hungUp.headParsed(keepAlive: false, body: plan(.none), now: 0)
        _ = hungUp.requestFinished(now: 0)
        #expect(hungUp.linger(peerHungUp: true, draining: false, now: 0) == .close, "the client is gone: no reason to linger")
        state.closed()
        #expect(state.isClosed && state.deadline == 0)
    }

    @Test func aStreamedAnswerOnHTTP10ClosesAfterwards() {
        var state = fresh()
        _ = state.headParsed(keepAlive: true, body: plan(.none), now: 0)
        state.dispatched(async: true)
        state.responding(streamBody: true, streamed: true, http10: true, draining: false)
        #expect(state.isStreaming && !state.keepAlive)
        var head = fresh()
        _ = head.headParsed(keepAlive: true, body: plan(.none), now: 0)
        head.responding(streamBody: true, streamed: false, http10: false, draining: false)
        #expect(!head.isStreaming && head.keepAlive, "HEAD of a stream on HTTP/1.1: no body, the connection stays")
        var draining = fresh()
        _ = draining.headParsed(keepAlive: true, body: plan(.none), now: 0)
        draining.responding(streamBody: false, streamed: false, http10: false, draining: true)
        #expect(!draining.keepAlive)
    }

    @Test func aTLSHandshakeIsHeldToTheHeadsDeadline() {
        var state = fresh(now: 0)
        state.handshakeStarted(now: 0)
        #expect(state.deadline == 10 * Self.second)
        state.handshakeFinished(now: 3 * Self.second)
        #expect(state.deadline == 63 * Self.second)
    }
}
