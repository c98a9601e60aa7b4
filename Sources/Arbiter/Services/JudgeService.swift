public import Agreement
public import ModelEndpoints
import JSON
public import Storage
import Synchronization
import Threads

/// Model judges: added to a project by an admin, run in the background over every
/// pair (each pair asked twice, the responses in both orders), their verdicts
/// stored apart from people's and measured like any rater.
///
/// A run goes through the pairs the judge has no verdict on in batches; each
/// batch's calls go out at once, at most the endpoint's `concurrency` at a time
/// (slots shared with arena battles), and its verdicts and cost are written in
/// one transaction. A run that stops — the server shut down, the endpoint failed —
/// is started again and picks up where it was: judged pairs are never asked again.
/// A call that fails (the endpoint's error, a timeout) leaves its pair for the
/// next run; an answer that comes back without a readable verdict (a refusal, a
/// malformed answer) is kept as unreadable and counted.
public final class JudgeService: Sendable {
    let store: ArbiterStore
    let models: ModelPool
    let now: @Sendable () -> Int64
    /// Runs happen here, off the event loops and Swift's shared pool.
    private let executor = ThreadExecutor(name: "judges")
    /// Judge ids running on this node.
    private let running = Mutex<Set<Int64>>([])
    private let stopping = Atomic<Bool>(false)

    /// Pairs per batch (each is two calls).
    public static let batchPairs = 16
    /// Batches in a row whose every call failed before a run gives up (the endpoint is down).
    static let failingBatchesToStop = 3
    /// How long a call waits for a free slot of its endpoint (seconds).
    static let slotWait = 300.0
    /// The most judges one project may have.
    public static let maxJudges = 8

    public init(store: ArbiterStore, models: ModelPool, now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.models = models
        self.now = now
    }

    /// What an admin sends to add a judge.
    public struct Registration: Sendable {
        public var name: String
        public var endpoint: String
        /// nil: ``JudgePrompt/defaultTemplate``.
        public var template: String?

        public init(name: String, endpoint: String, template: String? = nil) {
            self.name = name
            self.endpoint = endpoint
            self.template = template
        }
    }

    /// A judge as the API shows it: the stored one and the pairs it has left.
    public struct Summary: Sendable {
        public var judge: Judge
        public var pending: Int
        public var endpointConfigured: Bool
    }

    /// Adds a judge to a pairwise project; audited.
    public func add(projectID: Int, _ registration: Registration, actor: Int, address: String) async throws -> Summary {
        let name = registration.name
        guard (1...64).contains(name.utf8.count), name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw ValidationError("name: 1 to 64 letters, digits, - _ or .")
        }
        guard models.endpoint(named: registration.endpoint) != nil else {
            let known = models.endpoints.map(\.name)
            throw ValidationError(
                known.isEmpty
                    ? "endpoint: this server has no model endpoints (start it with --endpoints-file)"
                    : "endpoint: '\(registration.endpoint)' is not one of this server's endpoints (\(known.joined(separator: ", ")))")
        }
        let template = registration.template ?? JudgePrompt.defaultTemplate
        try JudgePrompt.validate(template)
        let at = now()
        let id = try await store.pool.write { db in
            guard let project = try Projects.find(db, id: projectID) else { throw ServiceError.noSuchProject }
            guard project.settings.kind == .pairwise else {
                throw ValidationError("judges: only pairwise projects have judges so far (this one is \(project.settings.kind.rawValue))")
            }
            guard try Judges.list(db, projectID: projectID).count < Self.maxJudges else {
                throw ValidationError("judges: at most \(Self.maxJudges) per project")
            }
            let id = try Judges.create(
                db, projectID: projectID, name: name, endpoint: registration.endpoint, template: template, createdBy: actor, now: at)
            try AuditLog.record(
                db, actor: actor, action: "judge_added", target: "project:\(projectID)",
                details: JSONObjectText(["judge": name, "endpoint": registration.endpoint]), address: address, now: at)
            return id
        }
        return try await summary(id: id)
    }

    /// The project's judges.
    public func list(projectID: Int) async throws -> [Summary] {
        try await store.pool.read { [self] db in
            guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
            return try Judges.list(db, projectID: projectID).map { try summarize($0, db: db) }
        }
    }

    func summary(id: Int64) async throws -> Summary {
        try await store.pool.read { [self] db in
            guard let judge = try Judges.find(db, id: id) else { throw ServiceError.notFound("no such judge", code: "no_such_judge") }
            return try summarize(judge, db: db)
        }
    }

    /// A stored judge with the pairs it has left and whether this server can run it.
    private func summarize(_ judge: Judge, db: any Database) throws -> Summary {
        Summary(
            judge: judge, pending: try Judges.pendingCount(db, judge: judge),
            endpointConfigured: models.endpoint(named: judge.endpoint) != nil)
    }

    func find(projectID: Int, name: String) async throws -> Judge {
        try await store.pool.read { db in
            guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
            guard let judge = try Judges.find(db, projectID: projectID, name: name) else {
                throw ServiceError.notFound("no judge named '\(name)' in this project", code: "no_such_judge")
            }
            return judge
        }
    }

    /// Removes a judge and its verdicts; audited. A running judge is refused.
    public func remove(projectID: Int, name: String, actor: Int, address: String) async throws {
        let judge = try await find(projectID: projectID, name: name)
        let at = now()
        try await store.pool.write { db in
            if try Judges.find(db, id: judge.id)?.state == "running", self.isLive(judge.id, db: db, now: at) {
                throw ServiceError.conflict(code: "judge_running", message: "the judge is running; wait for its run to end")
            }
            try Judges.remove(db, id: judge.id)
            try AuditLog.record(
                db, actor: actor, action: "judge_removed", target: "project:\(projectID)", details: JSONObjectText(["judge": name]),
                address: address, now: at)
        }
    }

    private func isLive(_ id: Int64, db: any Database, now: Int64) -> Bool {
        running.withLock { $0.contains(id) }
            || ((try? Judges.heartbeat(db, id: id)) ?? 0) >= now - Judges.staleAfterMilliseconds
    }

    /// Starts a run in the background (a running judge: 409); returns at once.
    public func start(projectID: Int, name: String) async throws -> Summary {
        let judge = try await find(projectID: projectID, name: name)
        guard let endpoint = models.endpoint(named: judge.endpoint) else {
            throw ValidationError("endpoint: '\(judge.endpoint)' is not in this server's endpoints file any more")
        }
        let at = now()
        let claimed = try await store.pool.write { db in try Judges.claimRun(db, id: judge.id, now: at) }
        guard claimed else { throw ServiceError.conflict(code: "judge_running", message: "the judge is running already") }
        running.withLock { _ = $0.insert(judge.id) }
        Task(executorPreference: executor) { [self] in
            let error = await self.run(judge, endpoint: endpoint)
            try? await store.pool.write { db in try Judges.finishRun(db, id: judge.id, error: error) }
            running.withLock { _ = $0.remove(judge.id) }
        }
        return try await summary(id: judge.id)
    }

    /// Stops this node's runs: they end after their current batch, and are marked
    /// idle now (the database closes next) — started again, they resume.
    public func stop() async {
        stopping.store(true, ordering: .relaxed)
        let ids = running.withLock { $0 }
        if !ids.isEmpty {
            _ = try? await store.pool.write { db in
                for id in ids { try Judges.finishRun(db, id: id, error: nil) }
            }
        }
        executor.shutdown()
    }

    /// Whether a run is going on this node (for tests and shutdown).
    public var isRunning: Bool { running.withLock { !$0.isEmpty } }

    /// One run: every pending pair in batches; returns why it stopped early (nil: done).
    func run(_ judge: Judge, endpoint configured: ModelEndpoint) async -> String? {
        var endpoint = configured
        endpoint.requestsUsage = true
        let prompt = JudgePrompt(template: judge.template)
        var failingBatches = 0
        var cursor: Int64 = 0
        var skipped = 0
        var firstFailure: String?
        while !stopping.load(ordering: .relaxed) {
            let after = cursor
            let pairs: [JudgedPair]
            do {
                // Pairs whose call failed in this run stay pending: read past them.
                pairs = try await store.pool.read { db in try Judges.pending(db, judge: judge, after: after, limit: Self.batchPairs) }
            } catch {
                return "reading pairs: \(error)"
            }
            guard let last = pairs.last else { break }
            cursor = last.id
            let outcome = await judgeBatch(pairs, judge: judge, endpoint: endpoint, prompt: prompt)
            let at = now()
            do {
                try await store.pool.write { db in
                    try Judges.record(
                        db, judgeID: judge.id, outcome.verdicts, requests: outcome.requests, failedRequests: outcome.failures.count, now: at
                    )
                    try Judges.heartbeat(db, id: judge.id, now: at)
                    // A project that counts judges: their verdicts may settle pairs (or not yet).
                    if let project = try Projects.find(db, id: judge.projectID), project.settings.countJudges {
                        for verdict in outcome.verdicts { try PairDemand.settle(db, project: project, pairID: verdict.pairID) }
                    }
                }
            } catch {
                return "storing verdicts: \(error)"
            }
            skipped += pairs.count - outcome.verdicts.count
            if firstFailure == nil { firstFailure = outcome.failures.first }
            failingBatches = outcome.verdicts.isEmpty && !outcome.failures.isEmpty ? failingBatches + 1 : 0
            if failingBatches >= Self.failingBatchesToStop {
                return "stopped after \(Self.failingBatchesToStop) batches in a row failed: \(outcome.failures.first ?? "")"
            }
        }
        // A project that counts judges re-estimates everyone's accuracy with the new
        // verdicts (otherwise that waits for the people's next judgements).
        if let project = try? await store.pool.read({ db in try Projects.find(db, id: judge.projectID) }), project.settings.countJudges {
            if AdaptiveWorker.hasWork(project.settings) { try? await AdaptiveWorker.refreshAccuracy(store: store, project: project) }
            // People first where the judges split or are unsure (active selection has its own order).
            if !project.settings.activeSelection {
                _ = try? await store.pool.write { db in try Judges.prioritise(db, projectID: project.id) }
            }
        }
        guard skipped == 0 else { return "\(skipped) pair(s) not judged (run again to retry them): \(firstFailure ?? "")" }
        return nil
    }

    struct BatchOutcome {
        var verdicts: [JudgeVerdict] = []
        var requests = 0
        var failures: [String] = []
    }

    /// Asks about each pair in both orders; a pair whose either call failed gets no verdict.
    func judgeBatch(_ pairs: [JudgedPair], judge: Judge, endpoint: ModelEndpoint, prompt: JudgePrompt) async -> BatchOutcome {
        let models = self.models
        let results = await withTaskGroup(of: (Int, Bool, Result<ChatCompletions.Completion, ChatCompletions.Failure>).self) { group in
            for (index, pair) in pairs.enumerated() {
                let firstSwapped = Self.firstSwapped(pairID: pair.id, judgeID: judge.id)
                for swapped in [firstSwapped, !firstSwapped] {
                    let text = prompt.render(
                        prompt: pair.prompt, first: swapped ? pair.responseB : pair.responseA,
                        second: swapped ? pair.responseA : pair.responseB)
                    group.addTask {
                        let waitUntil = Clock.monotonicMilliseconds() + Self.slotWait * 1000
                        while !models.reserve([endpoint.name]) {
                            guard Clock.monotonicMilliseconds() < waitUntil else {
                                return (
                                    index, swapped,
                                    .failure(ChatCompletions.Failure(description: "\(endpoint.name): busy for \(Int(Self.slotWait)) s"))
                                )
                            }
                            try? await Task.sleep(for: .milliseconds(20))
                        }
                        let result = await models.complete(endpoint, messages: [("user", text)], readOn: nil) { _ in true }
                        models.release(endpoint.name)
                        return (index, swapped, result)
                    }
                }
            }
            var results: [Int: [Bool: Result<ChatCompletions.Completion, ChatCompletions.Failure>]] = [:]
            for await (index, swapped, result) in group { results[index, default: [:]][swapped] = result }
            return results
        }
        var outcome = BatchOutcome()
        for (index, pair) in pairs.enumerated() {
            let firstSwapped = Self.firstSwapped(pairID: pair.id, judgeID: judge.id)
            guard case .success(let first)? = results[index]?[firstSwapped], case .success(let second)? = results[index]?[!firstSwapped]
            else {
                for case .failure(let failure)? in [results[index]?[firstSwapped], results[index]?[!firstSwapped]] {
                    outcome.failures.append(failure.description)
                }
                outcome.requests += 2
                continue
            }
            outcome.requests += 2
            let (firstAnswer, firstReason) = JudgePrompt.read(first.text)
            let (secondAnswer, secondReason) = JudgePrompt.read(second.text)
            var verdict = JudgeVerdict(
                pairID: pair.id, firstSwapped: firstSwapped, firstAnswer: JudgeVerdict.canonical(firstAnswer, swapped: firstSwapped),
                secondAnswer: JudgeVerdict.canonical(secondAnswer, swapped: !firstSwapped),
                rationale: JudgePrompt.clip(firstReason + "\n\n———\n\n" + secondReason))
            verdict.promptTokens = (first.promptTokens ?? 0) + (second.promptTokens ?? 0)
            verdict.completionTokens = (first.completionTokens ?? 0) + (second.completionTokens ?? 0)
            outcome.verdicts.append(verdict)
        }
        return outcome
    }

    /// Which order a judge is asked first about a pair: half the pairs each way,
    /// fixed per judge and pair (a run resumed asks the same way).
    static func firstSwapped(pairID: Int64, judgeID: Int64) -> Bool {
        var z = UInt64(bitPattern: pairID) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(bitPattern: judgeID)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (z ^ (z >> 31)) & 1 == 1
    }
}

extension JudgeService {
    /// The judge–human table of a project.
    public struct Report: Sendable {
        public var judges: [(summary: Summary, measures: JudgeMeasures)]
        /// How often one person sides with the others' majority: the yardstick.
        public var peopleWithPeople: JudgeMeasures.Rate
        /// Whether exports count judges' verdicts by default (the project's `count_judges`).
        public var counted: Bool
    }

    /// Every judge measured against the people (and gold) of the project.
    public func report(projectID: Int) async throws -> Report {
        let summaries = try await list(projectID: projectID)
        return try await store.pool.read { db in
            try db.snapshot {
                guard let project = try Projects.find(db, id: projectID) else { throw ServiceError.noSuchProject }
                let facts = try Judges.pairFacts(db, projectID: projectID)
                let verdicts = Dictionary(grouping: try Judges.verdicts(db, projectID: projectID), by: \.judgeID)
                var categories: [Int64: String] = [:]
                for fact in facts {
                    if let text = fact.metadata, let category = (try? JSONValue.parse(Array(text.utf8)))?["category"]?.stringValue {
                        categories[fact.pairID] = category
                    }
                }
                let byPair = Dictionary(uniqueKeysWithValues: facts.map { ($0.pairID, $0) })
                let judges = summaries.map { summary in
                    let items = (verdicts[summary.judge.id] ?? []).compactMap { verdict -> JudgeMeasures.Item? in
                        guard let fact = byPair[verdict.pairID] else { return nil }
                        let a = fact.votes.filter { $0 == 0 }.count
                        return JudgeMeasures.Item(
                            peopleA: a, peopleB: fact.votes.count - a, gold: fact.gold.flatMap(Choice.init(rawValue:))?.category,
                            category: categories[verdict.pairID], first: verdict.firstAnswer?.category,
                            second: verdict.secondAnswer?.category,
                            firstSwapped: verdict.firstSwapped)
                    }
                    return (summary, JudgeMeasures.measure(items))
                }
                return Report(
                    judges: judges, peopleWithPeople: JudgeMeasures.peopleWithPeople(facts.map(\.votes)),
                    counted: project.settings.countJudges)
            }
        }
    }

    /// A judge's verdicts with their pairs, in pair order after `after`.
    public func verdicts(projectID: Int, name: String, after: Int64, limit: Int) async throws -> [(id: Int64, verdict: Judges.Listed)] {
        guard after >= 0 else { throw ValidationError("after: a pair position (0 or more)") }
        guard (1...500).contains(limit) else { throw ValidationError("limit: 1 to 500") }
        let judge = try await find(projectID: projectID, name: name)
        return try await store.pool.read { db in try Judges.listVerdicts(db, judgeID: judge.id, after: after, limit: limit) }
    }
}
