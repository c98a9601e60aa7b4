public import Agreement
import Glibc
public import JSON
import RewardModel
public import Storage
import Synchronization

/// The background half of adaptive overlap and active selection, one per server:
///
/// - every ``refreshEvery`` new judgements in a project with a weighted-posterior
///   stop rule, re-estimates each rater's accuracy (Dawid–Skene, shrunk) and
///   re-decides the pairs still open with it;
/// - every `active_retrain_every` new judgements in a project with active
///   selection, trains a Bradley–Terry model on the labels so far and stores each
///   untouched pair's priority, |P(A better) − 0.5|, so `next` offers the least
///   certain first.
///
/// Counting is in memory (a restart starts counting afresh); the work runs on one
/// thread of its own and writes in short transactions, so annotators never wait on it.
public final class AdaptiveWorker: Sendable {
    /// Judgements between two rater-accuracy refreshes.
    public static let refreshEvery = 250
    /// Judgements between two looks at a project's settings.
    static let checkEvery = 10

    struct Counters {
        var sinceCheck = 0
        var sinceRefresh = 0
        var sinceRetrain = 0
        var busy = false
    }

    private let store: ArbiterStore
    private let counters = Mutex<[Int: Counters]>([:])
    private let thread = ThreadPool(name: "adaptive", threads: 1)
    private let now: @Sendable () -> Int64

    init(store: ArbiterStore, now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.now = now
    }

    /// A normal judgement was stored in `projectID`.
    func judged(projectID: Int) {
        let check = counters.withLock { all -> Counters? in
            var counter = all[projectID] ?? Counters()
            counter.sinceCheck += 1
            counter.sinceRefresh += 1
            counter.sinceRetrain += 1
            defer { all[projectID] = counter }
            guard counter.sinceCheck >= Self.checkEvery, !counter.busy else { return nil }
            counter.sinceCheck = 0
            counter.busy = true
            return counter
        }
        guard let check else { return }
        Task { await run(projectID: projectID, counters: check) }
    }

    private func run(projectID: Int, counters seen: Counters) async {
        var refreshed = false, retrained = false
        do {
            if let project = try await store.pool.read({ db in try ProjectRepository.find(db, id: projectID) }) {
                if project.settings.stopPosterior != nil && project.settings.overlapRule.isAdaptive && seen.sinceRefresh >= Self.refreshEvery {
                    try await Self.refreshAccuracy(store: store, project: project, thread: thread)
                    refreshed = true
                }
                if project.settings.activeSelection && seen.sinceRetrain >= project.settings.activeRetrainEvery {
                    try await Self.retrain(store: store, project: project, thread: thread, now: now())
                    retrained = true
                }
            }
        } catch {
            // A failed round is retried at the next check; the data are untouched.
        }
        // Judgements that came in meanwhile may be due a look of their own.
        let again = counters.withLock { all -> Counters? in
            guard var counter = all[projectID] else { return nil }
            if refreshed { counter.sinceRefresh -= seen.sinceRefresh }
            if retrained { counter.sinceRetrain -= seen.sinceRetrain }
            counter.busy = counter.sinceCheck >= Self.checkEvery
            if counter.busy { counter.sinceCheck = 0 }
            all[projectID] = counter
            return counter.busy ? counter : nil
        }
        if let again { await run(projectID: projectID, counters: again) }
    }

    // MARK: The work (also called directly by tests and the CLI)

    /// Re-estimates the project's rater accuracies and re-decides its open pairs.
    public static func refreshAccuracy(store: ArbiterStore, project: Project, thread: ThreadPool? = nil) async throws {
        let projectID = SQLValue.int(Int64(project.id))
        let rows = try await store.pool.read { db in
            try db.query(
                """
                SELECT pair_id, user_id, choice FROM annotations
                WHERE project_id = ? AND kind = 'normal' AND choice IN ('A', 'B') ORDER BY pair_id
                """, [projectID]) { ($0.int64(0), $0.int(1), $0.string(2) == "A" ? 0 : 1) }
        }
        let compute: @Sendable () -> [(user: Int, accuracy: Double, shared: Int)] = {
            var units: [Int64: Int] = [:], raters: [Int: Int] = [:], users: [Int] = []
            let judgements = rows.map { row -> (unit: Int, rater: Int, label: Int) in
                let unit = units[row.0] ?? units.count
                units[row.0] = unit
                let rater = raters[row.1] ?? users.count
                if raters[row.1] == nil {
                    raters[row.1] = rater
                    users.append(row.1)
                }
                return (unit, rater, row.2)
            }
            let estimated = RaterAccuracy.estimate(judgements, units: units.count, raters: users.count)
            return zip(users, estimated).map { ($0, $1.accuracy, $1.shared) }
        }
        let accuracies = try await thread?.run(compute) ?? compute()
        try await store.pool.write { db in
            try db.run("DELETE FROM rater_accuracy WHERE project_id = ?", [projectID])
            let insert = try db.statement("INSERT INTO rater_accuracy (project_id, user_id, accuracy, shared) VALUES (?, ?, ?, ?)")
            for row in accuracies {
                try insert.bind([projectID, .int(Int64(row.user)), .double(row.accuracy), .int(Int64(row.shared))])
                try insert.run()
            }
            // Settings may have changed since the read; decide with the current ones.
            if let current = try ProjectRepository.find(db, id: project.id) {
                try PairDemand.recompute(db, project: current, onlyOpen: true)
            }
        }
    }

    /// Trains the selection model on the labels so far and re-prioritises the untouched pairs.
    public static func retrain(store: ArbiterStore, project: Project, thread: ThreadPool? = nil, now: Int64, seed: UInt64 = 42) async throws {
        let projectID = SQLValue.int(Int64(project.id))
        // Labels: the weighted vote of each pair's decisive normal judgements.
        let (labelled, untouched, judgements) = try await store.pool.read { db in
            var labelled: [(a: String, b: String, aWins: Bool)] = []
            var current: (pair: Int64, a: String, b: String, logOdds: Double)?
            func flush() {
                if let pending = current, pending.logOdds != 0 { labelled.append((pending.a, pending.b, pending.logOdds > 0)) }
            }
            let scan = try db.statement(
                """
                SELECT p.id, p.response_a, p.response_b, n.choice, coalesce(r.accuracy, ?) FROM annotations n
                JOIN pairs p ON p.id = n.pair_id
                LEFT JOIN rater_accuracy r ON r.project_id = n.project_id AND r.user_id = n.user_id
                WHERE n.project_id = ? AND n.kind = 'normal' AND n.choice IN ('A', 'B') ORDER BY n.pair_id
                """)
            try scan.bind([.double(OverlapRule.priorAccuracy), projectID])
            try scan.forEach { row in
                let pair = row.int64(0)
                if current?.pair != pair {
                    flush()
                    current = (pair, row.string(1), row.string(2), 0)
                }
                let accuracy = min(0.99, max(0.5, row.double(4)))
                let weight = log(accuracy / (1 - accuracy))
                current?.logOdds += row.string(3) == "A" ? weight : -weight
            }
            flush()
            let untouched = try db.query(
                "SELECT id, response_a, response_b FROM pairs WHERE project_id = ? AND gold IS NULL AND active_count = 0",
                [projectID]) { ($0.int64(0), $0.string(1), $0.string(2)) }
            let judgements = try db.queryFirst(
                "SELECT count(*) FROM annotations WHERE project_id = ? AND kind = 'normal'", [projectID]) { $0.int(0) } ?? 0
            return (labelled, untouched, judgements)
        }
        let train: @Sendable () -> [(Int64, Double)] = {
            let hasher = FeatureHasher(bits: 18)
            var data = PreferenceSet(hasher: hasher)
            for pair in labelled {
                data.append(chosen: pair.aWins ? pair.a : pair.b, rejected: pair.aWins ? pair.b : pair.a)
            }
            guard data.count >= 20 else { return untouched.map { ($0.0, 0) } }
            var options = TrainingOptions()
            options.seed = seed
            let model = BradleyTerryTrainer.train(data, options: options).model
            return untouched.map { pair in
                let margin = Double(model.score(hasher.features(pair.1)) - model.score(hasher.features(pair.2)))
                return (pair.0, abs(1 / (1 + exp(-margin)) - 0.5))
            }
        }
        let priorities = try await thread?.run(train) ?? train()
        // Short transactions: annotators' writes interleave with these.
        for start in stride(from: 0, to: priorities.count, by: 2_000) {
            let chunk = Array(priorities[start..<min(priorities.count, start + 2_000)])
            try await store.pool.write { db in
                let update = try db.statement("UPDATE pairs SET priority = ? WHERE id = ? AND active_count = 0")
                for (pair, priority) in chunk {
                    try update.bind([.double(priority), .int(pair)])
                    try update.run()
                }
            }
        }
        let stamp = Clock.iso8601(milliseconds: now)
        let trained = labelled.count, scored = priorities.count
        try await store.pool.write { db in
            try db.run(
                """
                INSERT INTO selection_models (project_id, judgements, retrains, trained_pairs, scored_pairs, trained_at)
                VALUES (?, ?, 1, ?, ?, ?)
                ON CONFLICT (project_id) DO UPDATE SET judgements = excluded.judgements, retrains = retrains + 1,
                    trained_pairs = excluded.trained_pairs, scored_pairs = excluded.scored_pairs, trained_at = excluded.trained_at
                """, [projectID, .int(Int64(judgements)), .int(Int64(trained)), .int(Int64(scored)), .text(stamp)])
        }
    }

    /// What the dashboard and the export manifest say about a project's collection.
    public static func status(_ db: Database, project: Project) throws -> JSONValue {
        let projectID = SQLValue.int(Int64(project.id))
        var policy = project.settings.collectionPolicy.objectValue ?? [:]
        let raters = try db.queryFirst(
            "SELECT count(*), avg(accuracy) FROM rater_accuracy WHERE project_id = ?", [projectID]) { ($0.int(0), $0.optionalDouble(1)) }
        if project.settings.stopPosterior != nil {
            policy["rater_accuracy"] = ["raters": .int(Int64(raters?.0 ?? 0)), "mean": raters?.1.map { .double($0) } ?? .null]
        }
        let hasModel = try db.queryFirst("SELECT 1 FROM selection_models WHERE project_id = ?", [projectID]) { _ in true } != nil
        if project.settings.activeSelection || hasModel {
            policy["selection_model"] = try db.queryFirst(
                "SELECT judgements, retrains, trained_pairs, scored_pairs, trained_at FROM selection_models WHERE project_id = ?",
                [projectID]) { row -> JSONValue in
                [
                    "judgements_at_training": .int(row.int64(0)), "retrains": .int(row.int64(1)), "trained_pairs": .int(row.int64(2)),
                    "scored_pairs": .int(row.int64(3)), "trained_at": .string(row.string(4)),
                ]
            } ?? .null
        }
        let selections = try db.query(
            """
            SELECT coalesce(selection, 'order'), count(*) FROM assignments
            WHERE project_id = ? AND kind = 'normal' AND state = 'completed' GROUP BY 1 ORDER BY 1
            """, [projectID]) { (key: $0.string(0), value: JSONValue.int($0.int64(1))) }
        policy["judgements_by_selection"] = .object(JSONObject(selections))
        return .object(policy)
    }
}
