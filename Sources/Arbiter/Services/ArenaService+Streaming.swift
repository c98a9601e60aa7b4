import ModelEndpoints
import JSON
import Logging
import Storage
import Synchronization

/// Streaming a battle's turn: both answers relayed to the page as they arrive.
extension ArenaService {
    // MARK: Streaming a turn

    /// Shared between a turn's writer and its two model threads.
    final class Flags: Sendable {
        /// Stop (the client went away), or: the answer was cut at the size limit.
        let set = Atomic<Bool>(false)
        let bytes = Atomic<Int>(0)
    }

    /// The model threads push; the writer takes everything pushed since its last turn.
    final class EventQueue: Sendable {
        private let state = Mutex<(events: [Event], waiter: CheckedContinuation<[Event], Never>?)>(([], nil))

        func push(_ event: Event) {
            let waiter = state.withLock { state -> CheckedContinuation<[Event], Never>? in
                state.events.append(event)
                guard let waiter = state.waiter else { return nil }
                state.waiter = nil
                return waiter
            }
            if let waiter { waiter.resume(returning: take()) }
        }

        private func take() -> [Event] {
            state.withLock { state in
                defer { state.events = [] }; return state.events
            }
        }

        /// Every event pushed so far and not yet taken; waits for one if there are none.
        func next() async -> [Event] {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> [Event]? in
                    if state.events.isEmpty {
                        state.waiter = continuation
                        return nil
                    }
                    defer { state.events = [] }
                    return state.events
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    enum Event: Sendable {
        case token(Battle.Side, String)
        case finished(Battle.Side, Result<ChatCompletions.Completion, ChatCompletions.Failure>, cut: Bool)
    }

    /// What a turn tells its client as it runs: the turn started, a piece of an
    /// answer, an answer done or failed, and the end once the turn is stored.
    public enum TurnEvent: Sendable {
        case start(battle: BattleID, turn: Int)
        case token(Battle.Side, String)
        case done(Battle.Side, finishReason: String?, totalMilliseconds: Double)
        /// A side failed; `message` is for the annotator (it never names the model).
        case failed(Battle.Side, message: String)
        /// The turn is stored: the battle is `open` (with turns left) or `void`;
        /// `message` when it could not be stored.
        case end(battle: BattleID, turn: Int, state: Battle.State, turnsLeft: Int?, message: String?)
    }

    /// Runs both answers of `run`, handing `emit` the events as they come (several
    /// at once when they arrived together; `emit` returns false once the client is
    /// gone, which stops both requests), and stores the turn.
    public func run(_ run: TurnRun, emit: @escaping ([TurnEvent]) async -> Bool) async {
        let stop = Flags()
        let events = EventQueue()
        let models = self.models
        var clientGone = false
        var answers: [Battle.Side: ChatCompletions.Completion] = [:]
        var failures: [Battle.Side: String] = [:]
        func send(_ batch: [TurnEvent]) async {
            guard !clientGone, !batch.isEmpty else { return }
            if await !emit(batch) {
                clientGone = true
                stop.set.store(true, ordering: .relaxed)
            }
        }
        // Child tasks, so they keep the connection's event loop as their executor
        // (the cooperative pool may be busy with other work).
        await withTaskGroup(of: Void.self) { group in
            for side in [Battle.Side.a, .b] {
                let endpoint = side == .a ? run.endpoints.a : run.endpoints.b
                let messages = run.battle.messages(side: side)
                group.addTask {
                    let answer = Flags()
                    let result = await models.complete(endpoint, messages: messages) { piece in
                        guard !stop.set.load(ordering: .relaxed) else { return false }
                        events.push(.token(side, piece))
                        if answer.bytes.add(piece.utf8.count, ordering: .relaxed).newValue >= Self.maxAnswerBytes {
                            answer.set.store(true, ordering: .relaxed)
                            return false
                        }
                        return true
                    }
                    models.release(endpoint.name)
                    events.push(.finished(side, result, cut: answer.set.load(ordering: .relaxed)))
                }
            }
            await send([.start(battle: run.battle.id, turn: run.turn)])
            // Whatever arrived meanwhile goes out in one write (a busy loop sends fewer, larger chunks).
            while answers.count + failures.count < 2 {
                var batch: [TurnEvent] = []
                for event in await events.next() {
                    switch event {
                    case .token(let side, let piece):
                        batch.append(.token(side, piece))
                    case .finished(let side, .success(var completion), let cut):
                        if cut { completion.finishReason = "length" }
                        answers[side] = completion
                        batch.append(.done(side, finishReason: completion.finishReason, totalMilliseconds: completion.totalMilliseconds))
                    case .finished(let side, .failure(let failure), _):
                        // The reason names the endpoint, so it goes to the log, not to the annotator.
                        logger.warning("arena battle \(run.battle.id) turn \(run.turn): \(failure.description)")
                        failures[side] = failure.description
                        batch.append(
                            .failed(
                                side,
                                message:
                                    "Response \(side == .a ? 1 : 2) failed (the model did not answer); this battle cannot be voted on — start a new one."
                            ))
                    }
                }
                await send(batch)
            }
        }
        let failed = !failures.isEmpty || clientGone
        func timing(_ completion: ChatCompletions.Completion?) -> JSONValue {
            guard let completion else { return .null }
            return [
                "first_token_ms": completion.firstTokenMilliseconds.map { .double($0) } ?? .null,
                "total_ms": .double(completion.totalMilliseconds),
                "chunks": .int(Int64(completion.chunks)), "finish_reason": completion.finishReason.map { .string($0) } ?? .null,
            ]
        }
        let timings: JSONValue = ["a": timing(answers[.a]), "b": timing(answers[.b])]
        let (id, turn) = (run.battle.id, run.turn)
        let (textA, textB) = (answers[.a]?.text, answers[.b]?.text)
        do {
            try await store.pool.write { db in
                try Battles.finishTurn(
                    db, battleID: id, turn: turn, responseA: textA, responseB: textB, timings: timings, failed: failed)
            }
        } catch {
            logger.error("arena battle \(id) turn \(turn): could not be stored: \(error)")
            await send([
                .end(battle: id, turn: turn, state: .void, turnsLeft: nil, message: "the answers could not be stored; start a new battle")
            ])
            return
        }
        await send([
            .end(
                battle: id, turn: turn, state: failed ? .void : .open, turnsLeft: failed ? 0 : max(0, run.maxTurns - turn - 1), message: nil
            )
        ])
    }
}
