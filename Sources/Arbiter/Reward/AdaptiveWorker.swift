import Threads
import Agreement
import Glibc
import JSON
import RewardModel
import Storage
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
/// On a cluster each node counts the judgements it stores, and a round runs under
/// the project's `adaptive:ID` lease (``ClusterLeases``), so one node at a time
/// does a project's work; a round whose node dies frees the lease after ``leaseTime``.
public final class AdaptiveWorker: Sendable {
    /// Judgements between two rater-accuracy refreshes (the first few come sooner:
    /// ``refreshDue(sinceRefresh:refreshes:)``).
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
        var refreshes = 0
        var retrainedAt: Int64?
        /// What retrains have read so far.
        var labels = LabelCache()
    }

    private let store: ArbiterStore
    private let counters = Mutex<[Int: Counters]>([:])
    private let background: Background
    /// Nice value of the worker thread (Linux nice values are per thread).
    static let niceness: Int32 = 19
    private let now: @Sendable () -> Int64
    /// This node's name, as lease holder.
    private let node: String
    /// How long (ms) a round may hold its project's lease.
    static let leaseTime: Int64 = 120_000

    init(store: ArbiterStore, node: String, now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.node = node
        background = Background(thread: ThreadPool(name: "adaptive", threads: 1), pool: store.pool)
        self.now = now
    }

    /// A normal judgement was stored in `projectID`.
    /// Whether a project's judgements give this worker anything to do: rater
    /// accuracies for a posterior or automatic stop rule, or a selection model to
    /// retrain. Any other project is never looked at (a round costs a cluster
    /// lease and a read, every ``checkEvery`` judgements).
    static func hasWork(_ settings: ProjectSettings) -> Bool {
        let rule = settings.overlapRule
        return ((rule.posterior != nil || rule.automatic) && rule.isAdaptive) || settings.activeSelection
    }

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
        let lease = "adaptive:\(projectID)"
        do {
            let (node, time) = (node, now())
            // Another node is on this project: its round covers these judgements too.
            if try await store.pool.write({ db in try ClusterLeases.acquire(db, name: lease, holder: node, now: time, ttl: Self.leaseTime) }
            ),
                let project = try await store.pool.read({ db in try Projects.find(db, id: projectID) })
            {
                let rule = project.settings.overlapRule
                if (rule.posterior != nil || rule.automatic) && rule.isAdaptive
                    && Self.refreshDue(
                        sinceRefresh: seen.sinceRefresh, refreshes: seen.refreshes, sinceLast: seen.refreshedAt.map { now() - $0 })
                {
                    try await Self.refreshAccuracy(store: store, project: project, background: background)
                    refreshed = true
                }
                if project.settings.activeSelection && seen.sinceRetrain >= project.settings.activeRetrainEvery
                    && seen.retrainedAt.map({ now() - $0 >= Self.minimumRetrainInterval }) ?? true
                {
                    try await Self.retrain(store: store, project: project, background: background, now: now(), labels: seen.labels)
                    retrained = true
                }
            }
        } catch {
            // A failed round is retried at the next check; the data are untouched.
        }
        let node = node
        _ = try? await store.pool.write { db in try ClusterLeases.release(db, name: lease, holder: node) }
        // Judgements that came in meanwhile may be due a look of their own.
        let again = counters.withLock { all -> Counters? in
            guard var counter = all[projectID] else { return nil }
            if refreshed {
                counter.sinceRefresh -= seen.sinceRefresh
                counter.refreshedAt = now()
                counter.refreshes += 1
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

    /// Whether a project's rater accuracies are due a refresh: the first ones
    /// after 25, 50, 100 and 200 judgements and at least 2, 4, 8 s apart (the
    /// estimates of a young project move most, and are cheap to make), then every
    /// ``refreshEvery`` judgements and ``minimumRefreshInterval``.
    static func refreshDue(sinceRefresh: Int, refreshes: Int, sinceLast: Int64?) -> Bool {
        let step = min(refreshes, 4)
        guard sinceRefresh >= min(refreshEvery, 25 << step) else { return false }
        guard let sinceLast else { return true }
        return sinceLast >= min(minimumRefreshInterval, 2_000 << Int64(step))
    }

    // MARK: The work (also called directly by tests and the CLI)

    /// Re-estimates the project's rater accuracies (class-conditional), which
    /// raters' votes count (not those the detector flags or a reviewer
    /// quarantined), the automatic threshold when the rule has one, and re-decides
    /// the open pairs. The reading and deciding happen off the writer; the write
    /// stores it all and changes only the pairs whose decision moved and that got
    /// no judgement in between (those were decided at submit time already).
    public static func refreshAccuracy(store: ArbiterStore, project: Project, background: Background? = nil) async throws {
        let rule = project.settings.overlapRule
        let countsJudges = project.settings.countJudges
        let (rows, ballots, volumes, uncounted, judgeRows) = try await Self.read(store, background) { db in
            let uncounted = try SelectionModels.uncountedRaters(db, projectID: project.id)
            return (
                try SelectionModels.sharedJudgements(db, projectID: project.id, minimumPeople: countsJudges ? 1 : 2),
                try PairDemand.ballots(db, projectID: project.id, onlyOpen: true, alsoJudgedBy: uncounted),
                try SelectionModels.raterVolumes(db, projectID: project.id), uncounted,
                countsJudges ? try Judges.estimationRows(db, projectID: project.id) : []
            )
        }
        let (weights, threshold, judgeWeights) = try await Self.compute(background) {
            // Judges (keys −id) are estimated with the people, on the pairs people
            // judged — with a weak prior of their own: shrunk towards a crowd of
            // careful people, a coin-flipping judge would pass for a fair one.
            let estimates = SelectionModel.classAccuracies(rows + judgeRows)
            var weights: [Int: PairDemand.RaterWeight] = [:]
            var judgeWeights: [Int: PairDemand.RaterWeight] = [:]
            if !judgeRows.isEmpty {
                for (user, estimate) in SelectionModel.classAccuracies(rows + judgeRows, pseudoCount: 2) where user < 0 {
                    judgeWeights[user] = PairDemand.RaterWeight(
                        accuracy: estimate.accuracy, pickA: estimate.pickA, pickB: estimate.pickB, shared: estimate.shared,
                        counted: estimate.shared >= Judges.minimumShared && estimate.accuracy >= Judges.minimumAccuracy)
                }
            }
            for (user, estimate) in estimates {
                if user < 0 { continue }
                weights[user] = PairDemand.RaterWeight(
                    accuracy: estimate.accuracy, pickA: estimate.pickA, pickB: estimate.pickB,
                    shared: estimate.shared, counted: !uncounted.contains(user))
            }
            let threshold =
                rule.automatic
                ? SelectionModel.automaticThreshold(rule: rule, weights: weights, volumes: volumes, uncounted: uncounted) : nil
            return (weights, threshold, judgeWeights)
        }
        try await store.pool.write { db in
            try SelectionModels.storeAccuracies(db, projectID: project.id, weights)
            if countsJudges { try Judges.storeAccuracies(db, projectID: project.id, judgeWeights) }
            if let threshold { try SelectionModels.storeThreshold(db, projectID: project.id, threshold) }
            // A settings change since the read re-decided every pair already.
            guard try Projects.find(db, id: project.id)?.settings.overlapRule == rule else { return }
            // Judges' votes as just estimated (read here: verdicts may have come meanwhile).
            let models = countsJudges ? try Judges.votesByPair(db, projectID: project.id) : [:]
            let resolved = rule.resolved(threshold: threshold?.threshold)
            try SelectionModels.setWanted(db, SelectionModel.redecide(ballots, rule: resolved, raters: weights, models: models))
        }
    }

    /// Trains the selection model on the labels so far and re-prioritises the
    /// untouched pairs. `labels` carries what earlier retrains read, so only new
    /// judgements are read (a fresh cache reads them all).
    public static func retrain(
        store: ArbiterStore, project: Project, background: Background? = nil, now: Int64, seed: UInt64 = 42,
        labels: LabelCache = LabelCache()
    ) async throws {
        let queueLength = Self.queueLength(project.settings)
        let (labelled, candidates, judgements) = try await Self.read(store, background) { db in
            try SelectionModels.update(labels, db, projectID: project.id)
            let accuracies = try SelectionModels.accuracies(db, projectID: project.id)
            // Candidates: four queues' worth of untouched pairs plus the current queue.
            let candidates = try SelectionModels.candidates(db, projectID: project.id, sample: 4 * queueLength)
            return (labels.labels(accuracies: accuracies), candidates, try SelectionModels.judgementCount(db, projectID: project.id))
        }
        let previous = Dictionary(uniqueKeysWithValues: candidates.map { ($0.pair, $0.priority) })
        let scored = try await Self.compute(background) {
            SelectionModel.uncertainty(labelled: labelled, candidates: candidates, seed: seed)
        }
        let priorities = SelectionModel.priorities(scored: scored, previous: previous, length: queueLength)
        // Short transactions that annotators' writes interleave with.
        for start in stride(from: 0, to: priorities.count, by: Self.priorityChunk) {
            let chunk = priorities[start..<min(priorities.count, start + Self.priorityChunk)]
            try await store.pool.write { db in try SelectionModels.setPriorities(db, chunk) }
        }
        try await store.pool.write { db in
            try SelectionModels.recordTraining(
                db, projectID: project.id, judgements: judgements, trainedPairs: labelled.count,
                scoredPairs: scored.count, at: now)
        }
    }

    /// Where the heavy work runs: in the server, one thread of its own at a lower
    /// priority than the event loops (on Linux the nice value belongs to the
    /// calling thread), reading through its own read-only connection; in tests,
    /// inline and through the pool's readers.
    public struct Background: Sendable {
        let thread: ThreadPool
        let pool: any ConnectionPool
    }

    static func read<T: Sendable>(
        _ store: ArbiterStore, _ background: Background?, _ body: @escaping @Sendable (any Database) throws -> T
    ) async throws -> T {
        guard let background else { return try await store.pool.read(body) }
        return try await background.thread.run {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
            let db = try background.pool.openReader()
            return try db.snapshot { try body(db) }
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
}
