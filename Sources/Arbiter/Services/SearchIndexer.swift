import Threads
import Storage

/// Keeps the text-search index up with new pairs: one per server, in the
/// background. Imports only queue their pairs (indexing costs about as much as
/// storing them); this loop indexes ``batch`` pairs per transaction and then
/// rests as long as the batch took, so it uses at most half of the writer's time
/// while a backlog lasts, and annotators wait at most one batch behind it. On
/// PostgreSQL every node indexes, each taking different queued rows.
public final class SearchIndexer: Sendable {
    /// Pairs per indexing transaction.
    static let batch = 200
    /// How long (ms) the loop sleeps when nothing is queued.
    static let idleSleep = 1_000
    private let store: ArbiterStore

    init(store: ArbiterStore) {
        self.store = store
        Task { [weak self] in
            while true {
                guard let self else { return }
                let started = ContinuousClock.now
                let indexed: Int
                do { indexed = try await self.step() } catch is PoolClosedError { return } catch { indexed = -1 }
                let rest: Duration =
                    indexed > 0 ? max(ContinuousClock.now - started, .milliseconds(2)) : .milliseconds(indexed < 0 ? 5_000 : Self.idleSleep)
                try? await Task.sleep(for: rest)
            }
        }
    }

    /// Indexes one batch; how many pairs it indexed.
    func step() async throws -> Int {
        try await store.pool.write { db in try SearchIndex.indexBatch(db, limit: Self.batch) }
    }

    /// Indexes everything queued now (tests; the loop catches up by itself).
    public func catchUp() async throws {
        while try await step() > 0 {}
    }
}
