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
/// thread of its own and writes in short transactions, so annotators never wait
/// long on it. A busy project does not retrain more often than every
/// ``minimumRetrainInterval`` nor refresh more often than every ``minimumRefreshInterval``.
public final class AdaptiveWorker: Sendable {
    /// Judgements between two rater-accuracy refreshes.
    public static let refreshEvery = 250
    /// Judgements between two looks at a project's settings.
    static let checkEvery = 10
    /// Milliseconds between two rater-accuracy refreshes of a project, at least.
    public static let minimumRefreshInterval: Int64 = 15_000
    /// Milliseconds between two trainings of a project's selection model, at least.
    public static let minimumRetrainInterval: Int64 = 30_000
    /// Rows per priority-writing transaction.
    static let priorityChunk = 500

    struct Counters {
        var sinceCheck = 0
        var sinceRefresh = 0
        var sinceRetrain = 0
        var busy = false
        var refreshedAt: Int64?
        var retrainedAt: Int64?
    }

    private let store: ArbiterStore
    private let counters = Mutex<[Int: Counters]>([:])
    private let background: Background
    /// Nice value of the worker thread (Linux nice values are per thread).
    static let niceness: Int32 = 10
    private let now: @Sendable () -> Int64

    init(store: ArbiterStore, databasePath: String, now: @escaping @Sendable () -> Int64) {
        self.store = store
        background = Background(thread: ThreadPool(name: "adaptive", threads: 1), databasePath: databasePath)
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
                if project.settings.stopPosterior != nil && project.settings.overlapRule.isAdaptive && seen.sinceRefresh >= Self.refreshEvery
                    && seen.refreshedAt.map({ now() - $0 >= Self.minimumRefreshInterval }) ?? true {
                    try await Self.refreshAccuracy(store: store, project: project, background: background)
                    refreshed = true
                }
                if project.settings.activeSelection && seen.sinceRetrain >= project.settings.activeRetrainEvery
                    && seen.retrainedAt.map({ now() - $0 >= Self.minimumRetrainInterval }) ?? true {
                    try await Self.retrain(store: store, project: project, background: background, now: now())
                    retrained = true
                }
            }
        } catch {
            // A failed round is retried at the next check; the data are untouched.
        }
        // Judgements that came in meanwhile may be due a look of their own.
        let again = counters.withLock { all -> Counters? in
            guard var counter = all[projectID] else { return nil }
            if refreshed {
                counter.sinceRefresh -= seen.sinceRefresh
                counter.refreshedAt = now()
            }
            if retrained {
                counter.sinceRetrain -= seen.sinceRetrain
                counter.retrainedAt = now()
            }
            counter.busy = counter.sinceCheck >= Self.checkEvery
            if counter.busy { counter.sinceCheck = 0 }
            all[projectID] = counter
            return counter.busy ? counter : nil
        }
        if let again { await run(projectID: projectID, counters: again) }
    }

    // MARK: The work (also called directly by tests and the CLI)

    /// Re-estimates the project's rater accuracies and re-decides its open pairs.
    /// The reading and deciding happen off the writer; the write stores the
    /// accuracies and changes only the pairs whose decision moved and that got no
    /// judgement in between (those were decided at submit time already).
    public static func refreshAccuracy(store: ArbiterStore, project: Project, background: Background? = nil) async throws {
        let projectID = SQLValue.int(Int64(project.id))
        let rule = project.settings.overlapRule
        let (rows, ballots) = try await Self.read(store, background) { db in
            // Only pairs judged more than once say anything about a rater.
            let rows = try db.query(
                """
                SELECT n.pair_id, n.user_id, n.choice FROM pairs p JOIN annotations n ON n.pair_id = p.id
                WHERE p.project_id = ? AND p.gold IS NULL AND p.active_count >= 2
                  AND n.kind = 'normal' AND n.choice IN ('A', 'B') ORDER BY n.pair_id
                """, [projectID]) { ($0.int64(0), $0.int(1), $0.string(2) == "A" ? 0 : 1) }
            return (rows, try PairDemand.ballots(db, projectID: project.id, onlyOpen: true))
        }
        let compute: @Sendable () -> (accuracies: [(user: Int, accuracy: Double, shared: Int)], changes: [(Int64, Int, Int)]) = {
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
            let accuracies = zip(users, estimated).map { ($0, $1.accuracy, $1.shared) }
            let byUser = Dictionary(uniqueKeysWithValues: accuracies.map { ($0.0, $0.1) })
            let changes = ballots.compactMap { ballot -> (Int64, Int, Int)? in
                let votes = ballot.votes.map { OverlapRule.Vote(choice: $0.choice, accuracy: byUser[$0.user] ?? OverlapRule.priorAccuracy) }
                let wanted = rule.wanted(votes)
                return wanted == ballot.wanted ? nil : (ballot.pair, wanted, ballot.votes.count)
            }
            return (accuracies, changes)
        }
        let (accuracies, changes) = try await Self.compute(background, compute)
        try await store.pool.write { db in
            try db.run("DELETE FROM rater_accuracy WHERE project_id = ?", [projectID])
            let insert = try db.statement("INSERT INTO rater_accuracy (project_id, user_id, accuracy, shared) VALUES (?, ?, ?, ?)")
            for row in accuracies {
                try insert.bind([projectID, .int(Int64(row.user)), .double(row.accuracy), .int(Int64(row.shared))])
                try insert.run()
            }
            // A settings change since the read re-decided every pair already.
            guard try ProjectRepository.find(db, id: project.id)?.settings.overlapRule == rule else { return }
            let update = try db.statement(
                """
                UPDATE pairs SET wanted = ?1 WHERE id = ?2
                  AND (SELECT count(*) FROM annotations WHERE pair_id = ?2 AND kind = 'normal') = ?3
                """)
            for (pair, wanted, judged) in changes {
                try update.bind([.int(Int64(wanted)), .int(pair), .int(Int64(judged))])
                try update.run()
            }
        }
    }

    /// Trains the selection model on the labels so far and re-prioritises the untouched pairs.
    public static func retrain(store: ArbiterStore, project: Project, background: Background? = nil, now: Int64, seed: UInt64 = 42) async throws {
        let projectID = SQLValue.int(Int64(project.id))
        // Labels: the weighted vote of each pair's decisive normal judgements.
        let (labelled, untouched, judgements) = try await Self.read(store, background) { db in
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
            // Candidates: a uniform sample of the untouched pairs, four queues' worth
            // (all of them when fewer), plus the current queue. The sample is drawn
            // on the covering index, so only the chosen pairs' texts are read.
            let fresh = "FROM visible_pairs WHERE project_id = ? AND gold IS NULL AND active_count = 0"
            let freshCount = try db.queryFirst("SELECT count(*) \(fresh)", [projectID]) { $0.int(0) } ?? 0
            let stride = max(1, freshCount / (4 * Self.queueLength(project.settings)))
            var candidates = Set(try db.query(
                "SELECT id \(fresh) AND (?2 = 1 OR abs(random()) % ?2 = 0)", [projectID, .int(Int64(stride))]) { $0.int64(0) })
            candidates.formUnion(try db.query("SELECT id \(fresh) AND priority != 0", [projectID]) { $0.int64(0) })
            let text = try db.statement("SELECT response_a, response_b, priority FROM pairs WHERE id = ?")
            let untouched = try candidates.sorted().compactMap { id -> (Int64, String, String, Double)? in
                try text.bind([.int(id)])
                return try text.first { (id, $0.string(0), $0.string(1), $0.double(2)) }
            }
            let judgements = try db.queryFirst(
                "SELECT count(*) FROM annotations WHERE project_id = ? AND kind = 'normal'", [projectID]) { $0.int(0) } ?? 0
            return (labelled, untouched, judgements)
        }
        let previous = Dictionary(uniqueKeysWithValues: untouched.map { ($0.0, $0.3) })
        let train: @Sendable () -> [(Int64, Double)] = {
            let hasher = FeatureHasher(bits: 18)
            var data = PreferenceSet(hasher: hasher)
            for pair in labelled {
                data.append(chosen: pair.aWins ? pair.a : pair.b, rejected: pair.aWins ? pair.b : pair.a)
            }
            guard data.count >= 20 else { return [] }
            var options = TrainingOptions()
            options.seed = seed
            // One shard: small data, and this thread is niced; the event loops come first.
            options.shards = 1
            let model = BradleyTerryTrainer.train(data, options: options).model
            return untouched.map { pair in
                let margin = Double(model.score(hasher.features(pair.1)) - model.score(hasher.features(pair.2)))
                return (pair.0, abs(1 / (1 + exp(-margin)) - 0.5))
            }
        }
        let scoredPriorities = try await Self.compute(background, train)
        // The queue: the least certain untouched pairs get |p − 0.5| − 1 (before
        // every other pair, which stays at 0, in id order); pairs that left the queue
        // go back to 0. Only priorities that moved (by 0.005) are written, in short
        // transactions that annotators' writes interleave with.
        let queueLength = Self.queueLength(project.settings)
        let queued = scoredPriorities.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(queueLength)
        var target = Dictionary(uniqueKeysWithValues: queued.map { ($0.0, $0.1 - 1) })
        for (pair, priority) in previous where priority != 0 && target[pair] == nil { target[pair] = 0 }
        let priorities = target.filter { abs($0.value - (previous[$0.key] ?? 0)) >= 0.005 }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        for start in stride(from: 0, to: priorities.count, by: Self.priorityChunk) {
            let chunk = Array(priorities[start..<min(priorities.count, start + Self.priorityChunk)])
            try await store.pool.write { db in
                let update = try db.statement("UPDATE pairs SET priority = ? WHERE id = ? AND active_count = 0")
                for (pair, priority) in chunk {
                    try update.bind([.double(priority), .int(pair)])
                    try update.run()
                }
            }
        }
        let stamp = Clock.iso8601(milliseconds: now)
        let trained = labelled.count, scored = scoredPriorities.count
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

    /// Where the heavy work runs: in the server, one thread of its own at a lower
    /// priority than the event loops (on Linux the nice value belongs to the
    /// calling thread), reading through its own read-only connection; in tests,
    /// inline and through the pool's readers.
    public struct Background: Sendable {
        let thread: ThreadPool
        let databasePath: String
    }

    static func read<T: Sendable>(
        _ store: ArbiterStore, _ background: Background?, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        guard let background else { return try await store.pool.read(body) }
        return try await background.thread.run {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
            let db = try Database(path: background.databasePath, mode: .reader)
            return try body(db)
        }
    }

    static func compute<T: Sendable>(_ background: Background?, _ body: @escaping @Sendable () -> T) async throws -> T {
        guard let background else { return body() }
        return try await background.thread.run {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
            return body()
        }
    }

    /// How many least-certain pairs a retrain queues: ten retrain intervals' worth, at least 5,000.
    static func queueLength(_ settings: ProjectSettings) -> Int { max(5_000, 10 * settings.activeRetrainEvery) }

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
