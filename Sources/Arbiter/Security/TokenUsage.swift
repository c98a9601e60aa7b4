import Storage
import Synchronization

/// When API tokens were last used (`api_tokens.last_used_at`) and their people
/// last seen (`users.last_seen_at`), written off the request path: a request only
/// notes the use in memory, and a detached task writes what is due in one
/// transaction — at most once a minute per token, however many requests it makes.
final class TokenUsage: Sendable {
    /// A token's use is written at most this often.
    static let interval: Int64 = 60_000

    private struct State {
        var lastWritten: [[UInt8]: Int64] = [:]
        var pending: [[UInt8]: (userID: Int, at: Int64)] = [:]
        var flushing = false
    }

    private let store: ArbiterStore
    private let state = Mutex(State())

    init(store: ArbiterStore) { self.store = store }

    /// Notes a use of the token with SHA-256 `hash`; cheap, never waits for the database.
    func note(tokenHash hash: [UInt8], userID: Int, now: Int64) {
        let start = state.withLock { state -> Bool in
            if let written = state.lastWritten[hash], now - written < Self.interval { return false }
            state.lastWritten[hash] = now
            if state.lastWritten.count > 100_000 { state.lastWritten = [hash: now] }
            state.pending[hash] = (userID, now)
            guard !state.flushing else { return false }
            state.flushing = true
            return true
        }
        if start { Task.detached { [self] in await flush() } }
    }

    /// Writes every pending use (also called by tests to wait for them).
    func flush() async {
        while true {
            let batch = state.withLock { state -> [[UInt8]: (userID: Int, at: Int64)] in
                let batch = state.pending
                state.pending = [:]
                if batch.isEmpty { state.flushing = false }
                return batch
            }
            if batch.isEmpty { return }
            let uses = batch.map { (hash: $0.key, userID: $0.value.userID, at: Clock.iso8601(milliseconds: $0.value.at)) }
            // A lost write only loses a "last used" time; never fail a request for it.
            try? await store.pool.write { db in try Users.recordTokenUses(db, uses) }
        }
    }
}
