import Agreement
import HTTPClient
import JSON
import Storage
import Synchronization
import Glibc
import Threads

/// Sends the outbox: one per server, and on a cluster only the node holding the
/// `webhooks` lease (``ClusterLeases``) works, so each event leaves one node.
///
/// Each round (every ``Configuration/pollInterval``, or sooner when woken):
/// 1. turns queued judgements into batched `judgement.created` events and the
///    `pair.completed` / `project.completed` they lead to, in one transaction that
///    also empties what it read;
/// 2. for projects with new judgements, at most every ``Configuration/raterCheckInterval``,
///    runs the rater detector and reports newly flagged raters (`rater.flagged`);
/// 3. sends, per endpoint, the oldest pending delivery whose time has come — the
///    next waits for it, so an endpoint sees its events in id order — on a few
///    threads of its own, and records each outcome: a 2xx answer delivers; anything
///    else (another status, a redirect, which is never followed, no answer within
///    the timeout) is tried again after an exponentially growing delay until
///    ``Configuration/retryWindow`` has passed, then marked failed with the last
///    answer kept for the admin page.
///
/// Delivery is at least once: a node that dies after a send and before recording
/// it sends that event again; receivers drop duplicates by `webhook-id`.
public final class WebhookDispatcher: Sendable {
    /// Timings and limits.
    public struct Configuration: Sendable {
        /// Seconds between two rounds when nothing wakes the dispatcher.
        public var pollInterval = 1.0
        /// Milliseconds a delivery is retried before it is marked failed (24 h).
        public var retryWindow: Int64 = 24 * 3_600_000
        /// Milliseconds before the first retry; each next one waits twice as long…
        public var firstRetryDelay: Int64 = 5_000
        /// …up to this (1 h).
        public var maxRetryDelay: Int64 = 3_600_000
        /// Seconds to connect, and that the receiver may stay silent.
        public var timeout = 10.0
        /// Refuse endpoints that resolve to loopback, private or link-local
        /// addresses (``PrivateAddress``). Off by default: self-hosted receivers
        /// usually live on the same network.
        public var refusePrivateAddresses = false
        /// A PEM file of CA certificates to trust instead of the system's (tests).
        public var caFile: String?
        /// Judgements in one `judgement.created` event, at most.
        public var judgementsPerEvent = 100
        /// Milliseconds between two rater checks of a project, at least.
        public var raterCheckInterval: Int64 = 60_000
        /// Deliveries in flight at once (to different endpoints).
        public var concurrency = 4

        /// Defaults.
        public init() {}
    }

    /// Queued judgements read per transaction.
    static let queueChunk = 500
    /// How long (ms) the `webhooks` lease lasts without renewal.
    static let leaseTime: Int64 = 30_000
    /// Bytes of a receiver's answer kept for the admin page.
    static let keptResponseBytes = 1024

    let store: ArbiterStore
    let node: String
    let configuration: Configuration
    let now: @Sendable () -> Int64
    private let senders: ThreadPool
    /// The rounds run here, never on Swift's cooperative pool.
    private let executor = ThreadExecutor(name: "webhooks-rounds")
    private let state = Mutex(State())

    struct State {
        var wake: AsyncStream<Void>.Continuation?
        var stopped = false
        /// Projects with judgements the rater check has not seen, and when each was last checked.
        var dirtyProjects: Set<Int> = []
        var raterCheckedAt: [Int: Int64] = [:]
        /// Whether an endpoint was seen, and when (monotonic ms) the database was last asked.
        var endpointsSeen = false
        var endpointsCheckedAt: Double = -.infinity
        /// Look at once (an endpoint was registered here since the last look began).
        var lookNow = true
    }

    /// Milliseconds between two looks for endpoints while there are none (one
    /// registered on this node is noticed at once; on another node, within this).
    static let endpointCheckInterval = 10_000.0

    init(store: ArbiterStore, node: String, configuration: Configuration, now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.node = node
        self.configuration = configuration
        self.now = now
        senders = ThreadPool(name: "webhooks", threads: configuration.concurrency)
    }

    /// Starts the rounds in the background.
    func start() {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        state.withLock { $0.wake = continuation }
        let interval = configuration.pollInterval
        Task(executorPreference: executor) { [self] in
            defer { executor.shutdown() }
            var waker = stream.makeAsyncIterator()
            while !state.withLock({ $0.stopped }) {
                do {
                    try await round()
                } catch is PoolClosedError {
                    return
                } catch {
                    // A database error (a failover, a full disk): the next round tries again.
                }
                // Until the ticker or someone wakes us.
                _ = await waker.next()
            }
        }
        // The ticker is a thread of its own: a timer of Swift's (`Task.sleep`)
        // fires through the cooperative pool, which blocking code elsewhere may hold.
        let microseconds = UInt32(min(max(interval, 0.001), 3600) * 1_000_000)
        OSThread.spawn(name: "webhooks-ticker") { [self] in
            while !state.withLock({ $0.stopped }) {
                usleep(microseconds)
                continuation.yield()
            }
        }
    }

    /// Starts a round now, looking for endpoints at once (one was registered on this node).
    func wake() {
        let continuation = state.withLock { state -> AsyncStream<Void>.Continuation? in
            state.lookNow = true
            return state.wake
        }
        continuation?.yield()
    }

    /// Stops after the current round.
    func stop() {
        let continuation = state.withLock { state -> AsyncStream<Void>.Continuation? in
            state.stopped = true
            return state.wake
        }
        continuation?.yield()
        continuation?.finish()
    }

    /// One round; see the type's documentation.
    func round() async throws {
        // A server without endpoints (the usual one) asks the database only now and then.
        let clock = Clock.monotonicMilliseconds()
        let ask = state.withLock { state -> Bool in
            let ask = state.endpointsSeen || state.lookNow || clock - state.endpointsCheckedAt >= Self.endpointCheckInterval
            if ask { state.lookNow = false }
            return ask
        }
        guard ask else { return }
        let exist = try await store.pool.read({ db in try Webhooks.exist(db) })
        state.withLock {
            $0.endpointsSeen = exist
            $0.endpointsCheckedAt = clock
        }
        guard exist else { return }
        // A SQLite file has one server; on PostgreSQL one node of the cluster sends.
        if case .postgres = store.location {
            let (node, time) = (node, now())
            guard
                try await store.pool.write({ db in
                    try ClusterLeases.acquire(db, name: "webhooks", holder: node, now: time, ttl: Self.leaseTime)
                })
            else { return }
        }
        while try await batchJudgements() {}
        try await checkRaters()
        try await deliver()
    }

    // MARK: Judgements → events

    /// One chunk of the judgement queue into events; true if the queue was full (more may wait).
    func batchJudgements() async throws -> Bool {
        let (perEvent, time) = (configuration.judgementsPerEvent, now())
        let (touched, full) = try await store.pool.write { db -> (Set<Int>, Bool) in
            let queued = try Webhooks.queuedJudgements(db, limit: Self.queueChunk)
            guard let last = queued.last else { return ([], false) }
            var byProject: [Int: [QueuedJudgement]] = [:]
            for judgement in queued { byProject[judgement.projectID, default: []].append(judgement) }
            for (projectID, judgements) in byProject.sorted(by: { $0.key < $1.key }) {
                try Self.events(db, projectID: projectID, judgements: judgements, perEvent: perEvent, now: time)
            }
            try Webhooks.dequeue(db, through: last.annotationID)
            return (Set(byProject.keys), queued.count == Self.queueChunk)
        }
        state.withLock { $0.dirtyProjects.formUnion(touched) }
        return full
    }

    static func events(_ db: any Database, projectID: Int, judgements: [QueuedJudgement], perEvent: Int, now: Int64) throws {
        var start = 0
        while start < judgements.count {
            let chunk = judgements[start..<min(start + perEvent, judgements.count)]
            start += perEvent
            try WebhookEvents.record(db, projectID: projectID, type: .judgementCreated, now: now) {
                ["judgements": .array(chunk.map(\.json))]
            }
        }
        let wantsPairs = try Webhooks.anyWants(db, projectID: projectID, type: .pairCompleted)
        let wantsProject = try Webhooks.anyWants(db, projectID: projectID, type: .projectCompleted)
        guard wantsPairs || wantsProject else { return }
        var seen = Set<Int64>()
        let pairIDs = judgements.map(\.pairID).filter { seen.insert($0).inserted }
        let completed = try Webhooks.markCompleted(db, projectID: projectID, pairs: try Webhooks.completedPairs(db, pairIDs: pairIDs))
        guard !completed.isEmpty else { return }
        if wantsPairs {
            // Batched like judgements: a busy project completes hundreds of pairs a second.
            for start in stride(from: 0, to: completed.count, by: perEvent) {
                let chunk = completed[start..<min(start + perEvent, completed.count)]
                try WebhookEvents.record(db, projectID: projectID, type: .pairCompleted, now: now) {
                    ["pairs": .array(chunk.map { ["pair": .string($0.externalID), "judgements": .int(Int64($0.judgements))] })]
                }
            }
        }
        guard try !Webhooks.hasOpenPairs(db, projectID: projectID) else { return }
        let pairs = try Webhooks.pairCount(db, projectID: projectID)
        if pairs > 0, try Webhooks.mark(db, projectID: projectID, subject: "project", value: String(pairs)) {
            try WebhookEvents.record(db, projectID: projectID, type: .projectCompleted, now: now) { ["pairs": .int(Int64(pairs))] }
        }
    }

    // MARK: Rater flags

    /// Runs the detector on projects with new judgements (at most every
    /// ``Configuration/raterCheckInterval`` each) and reports raters newly flagged.
    func checkRaters() async throws {
        let time = now()
        let due = state.withLock { state -> [Int] in
            let due = state.dirtyProjects.filter { time - (state.raterCheckedAt[$0] ?? .min / 2) >= configuration.raterCheckInterval }
            for project in due {
                state.dirtyProjects.remove(project)
                state.raterCheckedAt[project] = time
            }
            return due.sorted()
        }
        for projectID in due {
            guard try await store.pool.read({ db in try Webhooks.anyWants(db, projectID: projectID, type: .raterFlagged) }) else {
                continue
            }
            let flagged = try await store.pool.read { db in try RaterQuery.flaggedUsers(db, projectID: projectID) }
            try await store.pool.write { db in
                let marked = try Webhooks.marks(db, projectID: projectID, prefix: "rater:")
                for (userID, finding) in flagged.sorted(by: { $0.key < $1.key })
                where try Webhooks.mark(db, projectID: projectID, subject: "rater:\(userID)", value: finding.rawValue) {
                    let name = try Users.find(db, id: userID)?.username ?? "user \(userID)"
                    try WebhookEvents.record(db, projectID: projectID, type: .raterFlagged, now: time) {
                        ["rater": .string(name), "finding": .string(finding.rawValue)]
                    }
                }
                // No longer flagged (or decided by a person): may be reported again later.
                for subject in marked.keys where flagged[Int(subject.dropFirst(6)) ?? -1] == nil {
                    try Webhooks.unmark(db, projectID: projectID, subject: subject)
                }
            }
        }
    }

    // MARK: Sending

    /// Sends what is due: per endpoint whose oldest pending delivery's time has
    /// come, up to ``queueRun`` deliveries in event order, one after the other on
    /// a sender thread, stopping at the first that fails (the rest wait behind
    /// it); endpoints in parallel; every outcome recorded in one transaction.
    /// Again while a run was cut at its length, so a backlog drains without waiting
    /// for the next round.
    func deliver() async throws {
        for _ in 0..<1000 {
            let time = now()
            let due = try await store.pool.read { db in try Webhooks.due(db, now: time, perEndpoint: Self.queueRun) }
            if due.isEmpty { return }
            let runs = Dictionary(grouping: due, by: \.webhookID).values.map { $0.sorted { $0.eventID < $1.eventID } }
            let outcomes = await withTaskGroup(of: [(DueDelivery, Outcome)].self) { group in
                for run in runs {
                    group.addTask { [self] in
                        (try? await senders.run { [self] in
                            var done: [(DueDelivery, Outcome)] = []
                            for delivery in run {
                                let outcome = send(delivery)
                                done.append((delivery, outcome))
                                if !outcome.delivered { break }
                            }
                            return done
                        }) ?? []
                    }
                }
                var all: [(DueDelivery, Outcome)] = []
                for await outcome in group { all += outcome }
                return all
            }
            if outcomes.isEmpty { return }
            let finished = now()
            let (window, first, cap) = (configuration.retryWindow, configuration.firstRetryDelay, configuration.maxRetryDelay)
            try await store.pool.write { db in
                for (delivery, outcome) in outcomes {
                    let retryAt: Int64? =
                        outcome.delivered || finished - delivery.startedAt >= window
                        ? nil : finished + Self.retryDelay(attempt: delivery.attempts, first: first, cap: cap)
                    try Webhooks.attempted(
                        db, webhookID: delivery.webhookID, eventID: delivery.eventID, delivered: outcome.delivered, status: outcome.status,
                        response: outcome.response, retryAt: retryAt, now: finished)
                }
            }
            // Go on only while some endpoint's run was cut at its length, every one delivered.
            let delivered = Dictionary(grouping: outcomes.filter(\.1.delivered), by: \.0.webhookID).mapValues(\.count)
            if !runs.contains(where: { $0.count == Self.queueRun && delivered[$0[0].webhookID] == $0.count }) { return }
        }
    }

    /// Deliveries sent to one endpoint in a row before the outcomes are written.
    static let queueRun = 50

    /// The wait before retry `attempt + 1`: `first · 2^attempt`, at most `cap`.
    static func retryDelay(attempt: Int, first: Int64, cap: Int64) -> Int64 {
        attempt >= 40 ? cap : min(cap, first << Int64(attempt))
    }

    struct Outcome: Sendable {
        var status: Int?
        var response: String
        var delivered: Bool { status.map { (200..<300).contains($0) } ?? false }
    }

    /// The body of an event: `{"id","type","timestamp","data"}`, the same bytes on every attempt.
    static func body(_ delivery: DueDelivery) -> [UInt8] {
        let head: JSONValue = [
            "id": .string("evt_\(delivery.eventID)"), "type": .string(delivery.type),
            "timestamp": .string(Clock.iso8601(milliseconds: delivery.createdAt)),
        ]
        // The stored payload is JSON text already; spliced in as `data` (the
        // serialized object ends with `}`).
        return head.serialized().dropLast() + Array(",\"data\":\(delivery.payload)}".utf8)
    }

    /// One attempt, on a sender thread. The signature's timestamp is the wall
    /// clock's (receivers check it against theirs), never the test clock.
    func send(_ delivery: DueDelivery) -> Outcome {
        let body = Self.body(delivery)
        let id = "evt_\(delivery.eventID)"
        var request = HTTPClient.Request(
            method: "POST", url: delivery.url,
            headers: [("Content-Type", "application/json"), ("User-Agent", "Arbiter-Webhooks/1")]
                + WebhookSignature.headers(secret: delivery.secret, id: id, timestamp: Clock.nowMilliseconds() / 1000, body: body),
            body: body)
        request.connectTimeout = configuration.timeout
        request.idleTimeout = configuration.timeout
        request.caFile = configuration.caFile
        request.refusePrivateAddresses = configuration.refusePrivateAddresses
        var status: Int?
        var kept: [UInt8] = []
        do {
            try HTTPClient.send(
                request, head: { status = $0.status },
                body: { bytes in
                    kept += bytes.prefix(Self.keptResponseBytes - kept.count)
                    return kept.count < Self.keptResponseBytes
                })
            return Outcome(status: status, response: String(decoding: kept, as: UTF8.self))
        } catch {
            // An answer cut short after its status still counts as that status.
            if let status { return Outcome(status: status, response: String(decoding: kept, as: UTF8.self)) }
            return Outcome(status: nil, response: "\(error)")
        }
    }
}

extension QueuedJudgement {
    /// One judgement in a `judgement.created` event.
    var json: JSONValue {
        [
            "id": .int(annotationID), "pair": .string(pair), "annotator": .string(annotator), "choice": .string(choice),
            "strength": strength.map { .int(Int64($0)) } ?? .null, "kind": .string(kind), "created_at": .string(createdAt),
        ]
    }
}
