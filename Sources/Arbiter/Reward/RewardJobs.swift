import Threads
import Glibc
import JSON
import RewardModel
import Storage
import Synchronization

/// Background export jobs (with a reward model trained on the export): one at a
/// time per node (training uses every core), one per project across the cluster.
/// Each project's latest result lives in `ROOT/project-ID/`: the export
/// (`data*.jsonl` or `data.csv`), its manifest, and `model/` — on a cluster,
/// `ROOT` is storage every node mounts (see docs/OPERATIONS.md).
/// A job writes into a fresh directory and swaps it in only when it succeeded,
/// so downloads and scoring never see half a result.
///
/// The job itself is a row in `reward_jobs` (``Jobs``): whichever node
/// answers, it reports the same progress; the node running it writes a heartbeat
/// every ``heartbeatEvery``; a job silent for ``staleAfter`` (its node died, or the
/// server restarted mid-job) is taken over by the next node that sweeps
/// (every ``sweepEvery``), which runs the stored request again.
final class RewardJobs: Sendable {
    /// What `GET /api/projects/{id}/exports/latest` shows as `job`.
    struct Status: Sendable {
        var state = "running"
        var epoch = 0
        var epochs = 0
        var loss: Double?
        var validationLoss: Double?
        var startedAt: Int64 = 0
        var finishedAt: Int64?
        var error: String?
        /// Runs so far (more than one after a takeover).
        var attempts = 1

        init() {}

        init(_ row: Jobs.Row) {
            state = row.state
            epoch = row.epoch
            epochs = row.epochs
            loss = row.loss
            validationLoss = row.validationLoss
            startedAt = row.startedAt
            finishedAt = row.finishedAt
            error = row.error
            attempts = row.attempts
        }

        var json: JSONValue {
            [
                "state": .string(state), "epoch": .int(Int64(epoch)), "epochs": .int(Int64(epochs)),
                "loss": loss.map(JSONValue.double) ?? .null, "validation_loss": validationLoss.map(JSONValue.double) ?? .null,
                "started_at": .string(Clock.iso8601(milliseconds: startedAt)),
                "finished_at": finishedAt.map { .string(Clock.iso8601(milliseconds: $0)) } ?? .null,
                "error": error.map(JSONValue.string) ?? .null, "attempts": .int(Int64(attempts)),
            ]
        }
    }

    /// This node's job while it runs: which project, and its latest progress.
    struct Local: Sendable {
        var projectID: Int
        /// Tells this run apart from the next one of the same project.
        var token: UInt64
        var epoch = 0
        var loss: Double?
        var validationLoss: Double?
    }

    /// Milliseconds between two heartbeats of a running job.
    static let heartbeatEvery: Int64 = 2_000
    /// Milliseconds between two looks for silent jobs.
    static let sweepEvery: Int64 = 5_000
    /// A running job silent this long (ms) is taken over.
    static let defaultStaleAfter: Int64 = 30_000

    let root: String
    /// This node's name in `reward_jobs.node`.
    let node: String
    let staleAfter: Int64
    private let store: ArbiterStore
    private let now: @Sendable () -> Int64
    private let local = Mutex<Local?>(nil)
    private let models = Mutex<[Int: (finishedAt: Int64?, model: RewardTraining.LoadedModel)]>([:])
    private let pool = ThreadPool(name: "reward", threads: 1)

    init(root: String, store: ArbiterStore, node: String, staleAfter: Int64 = defaultStaleAfter, now: @escaping @Sendable () -> Int64) {
        self.root = root
        self.store = store
        self.node = node
        self.staleAfter = staleAfter
        self.now = now
        Task { [weak self] in
            while true {
                try? await Task.sleep(for: .milliseconds(Self.sweepEvery))
                guard let self else { return }
                do { try await self.sweep() } catch is PoolClosedError { return } catch {}
            }
        }
    }

    func directory(_ projectID: Int) -> String { root + "/project-\(projectID)" }

    /// Starts a job for `request` (the validated `options` and the JSON they came
    /// from, kept so another node can run it again); 409 while this node runs one
    /// or the project's job runs anywhere.
    func start(project: Project, request: String, options: ExportOptions) async throws -> Status {
        let token = try await reserve(project.id)
        let time = now()
        let epochs = options.rewardModel == nil ? 0 : options.rewardTraining.epochs
        let claimed: Bool
        do {
            let (node, staleBefore) = (node, time - staleAfter)
            claimed = try await store.pool.write { db in
                try Jobs.claim(
                    db, projectID: project.id, request: request, node: node, epochs: epochs, now: time, staleBefore: staleBefore)
            }
        } catch {
            release(token)
            throw error
        }
        guard claimed else {
            release(token)
            throw ServiceError.conflict(
                code: "conflict", message: "an export of this project is already running; try again when it is done")
        }
        launch(project: project, options: options, token: token)
        var status = Status()
        status.startedAt = time
        status.epochs = epochs
        return status
    }

    /// This node's one job slot; a run that finished in the database but has not
    /// let go of the slot yet no longer holds it.
    private func reserve(_ projectID: Int) async throws -> UInt64 {
        if let running = local.withLock({ $0 }) {
            let node = node
            let row = try await store.pool.read { db in try Jobs.find(db, projectID: running.projectID) }
            if row?.state == "running" && row?.node == node {
                throw ServiceError.conflict(
                    code: "conflict",
                    message: "a reward model is already training (project \(running.projectID)); try again when it is done")
            }
            release(running.token)
        }
        let token = UInt64.random(in: 1...UInt64.max)
        try local.withLock { local in
            if let running = local {
                throw ServiceError.conflict(
                    code: "conflict",
                    message: "a reward model is already training (project \(running.projectID)); try again when it is done")
            }
            local = Local(projectID: projectID, token: token)
        }
        return token
    }

    private func release(_ token: UInt64) {
        local.withLock { local in if local?.token == token { local = nil } }
    }

    /// Takes over jobs whose node went silent, one at a time, when this node is free.
    func sweep() async throws {
        let (node, staleBefore, time) = (node, now() - staleAfter, now())
        let silent = try await store.pool.read { db in try Jobs.stale(db, staleBefore: staleBefore) }
        for projectID in silent {
            guard let token = try? await reserve(projectID) else { return }
            let taken = try await store.pool.write { db -> (String, Project)? in
                guard let request = try Jobs.takeOver(db, projectID: projectID, node: node, now: time, staleBefore: staleBefore),
                    let project = try Projects.find(db, id: projectID)
                else { return nil }
                return (request, project)
            }
            guard let (request, project) = taken else {
                release(token)
                continue
            }
            do {
                let options = try RewardJobs.options(fromRequest: request)
                launch(project: project, options: options, token: token)
            } catch {
                await finish(projectID, token: token, error: "the stored request no longer validates: \(error)")
            }
            return
        }
    }

    /// The options of a stored request (the job's JSON body), validated again.
    static func options(fromRequest request: String) throws -> ExportOptions {
        try options(from: try JSONValue.parse(request))
    }

    /// The options of a job's JSON body (``ExportRequest``, door `.job`).
    static func options(from body: JSONValue) throws -> ExportOptions {
        guard let object = body.objectValue else { throw ValidationError("body: expected a JSON object") }
        let fields = Dictionary(object.map { ($0.key, ExportRequest.Field.json($0.value)) }, uniquingKeysWith: { _, last in last })
        return try ExportRequest(fields: fields, door: .job).options
    }

    /// Runs the claimed job in the background, with its heartbeat.
    private func launch(project: Project, options: ExportOptions, token: UInt64) {
        let projectID = project.id
        let finalDirectory = directory(projectID)
        let (root, now, node, store) = (root, now, node, store)
        Task {
            let heartbeat = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(Self.heartbeatEvery))
                    guard !Task.isCancelled, let progress = self?.local.withLock({ $0 }), progress.token == token else { return }
                    let time = now()
                    try? await store.pool.write { db in
                        try Jobs.progress(
                            db, projectID: projectID, node: node, epoch: progress.epoch, loss: progress.loss,
                            validationLoss: progress.validationLoss, now: time)
                    }
                }
            }
            defer { heartbeat.cancel() }
            do {
                let predictions = try await pool.run { [self] () throws -> [RewardPrediction] in
                    if mkdir(root, 0o700) != 0 && errno != EEXIST {
                        throw ServiceError.unavailable("\(root): \(String(cString: strerror(errno)))")
                    }
                    let staging = finalDirectory + ".tmp-\(node)-\(now())"
                    if mkdir(staging, 0o700) != 0 { throw ServiceError.unavailable("\(staging): \(String(cString: strerror(errno)))") }
                    do {
                        var options = options
                        if options.rewardModel != nil { options.rewardModel = staging + "/model" }
                        options.manifestPathsRelative = true
                        options.rewardProgress = { [self] report in
                            local.withLock { local in
                                guard local?.token == token else { return }
                                local?.epoch = report.epoch
                                local?.loss = report.loss
                                local?.validationLoss = report.validationLoss
                            }
                        }
                        let db = try store.pool.openReader()
                        var predictions: [RewardPrediction] = []
                        let data = staging + "/data." + options.format.fileExtension
                        _ = try Exporter.run(db, project: project, options: options, out: data, now: now(), predictions: &predictions)
                        Self.remove(finalDirectory)
                        guard rename(staging, finalDirectory) == 0 else {
                            throw ServiceError.unavailable("cannot move the result into place")
                        }
                        return predictions
                    } catch {
                        Self.remove(staging)
                        throw error
                    }
                }
                let stamp = now()
                if !predictions.isEmpty {
                    try await store.pool.write { db in try RewardPrediction.store(predictions, projectID: projectID, in: db, now: stamp) }
                }
                await finish(projectID, token: token, error: nil)
            } catch {
                await finish(projectID, token: token, error: "\(error)")
            }
        }
    }

    private func finish(_ projectID: Int, token: UInt64, error: String?) async {
        let (node, time) = (node, now())
        let progress = local.withLock { $0?.token == token ? $0 : nil }
        _ = try? await store.pool.write { db in
            if let progress {
                try Jobs.progress(
                    db, projectID: projectID, node: node, epoch: progress.epoch, loss: progress.loss,
                    validationLoss: progress.validationLoss, now: time)
            }
            if try Jobs.finish(db, projectID: projectID, node: node, error: error, now: time) {
                try WebhookEvents.exportReady(db, projectID: projectID, error: error, now: time)
            }
        }
        release(token)
    }

    /// The job's status (whichever node runs or ran it) and the latest result on disk.
    func report(_ projectID: Int) async throws -> JSONValue {
        let row = try await store.pool.read { db in try Jobs.find(db, projectID: projectID) }
        var status = row.map(Status.init)
        // This node's own job: progress since the last heartbeat.
        if let progress = local.withLock({ $0 }), progress.projectID == projectID, row?.node == node, row?.state == "running" {
            status?.epoch = progress.epoch
            status?.loss = progress.loss
            status?.validationLoss = progress.validationLoss
        }
        let manifest = files(projectID).first { $0.name == "manifest.json" }.flatMap { TextFile.read($0.path) }.flatMap {
            try? JSONValue.parse($0)
        }
        return [
            "job": status?.json ?? .null,
            "result": manifest.map { manifest in
                [
                    "created_at": manifest["created_at"] ?? .null, "format": manifest["format"] ?? .null,
                    "counts": manifest["counts"] ?? .null, "metrics": manifest["reward_model"]?["metrics"] ?? .null,
                    "files": .array(files(projectID).map { .string($0.name) }),
                ]
            } ?? .null,
        ]
    }

    /// What a client may download: name → path inside the project's directory.
    /// The data files are those the formats write (`data.EXT`, and with a split
    /// `data.train.EXT` / `data.test.EXT`), so a new format needs no change here.
    static let downloads: [(name: String, path: String)] = {
        let extensions = ExportFormat.allCases.map(\.fileExtension).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        var names: [(String, String)] = []
        for ext in extensions {
            for name in ["data.\(ext)", "data.train.\(ext)", "data.test.\(ext)"] { names.append((name, name)) }
            names.append(("manifest.json", "data.\(ext).manifest.json"))
        }
        return names + [
            ("model.safetensors", "model/model.safetensors"), ("config.json", "model/config.json"), ("metrics.json", "model/metrics.json"),
        ]
    }()

    /// The downloadable files that exist: name → full path.
    func files(_ projectID: Int) -> [(name: String, path: String)] {
        let base = directory(projectID)
        return Self.downloads.map { ($0.name, base + "/" + $0.path) }.filter { access($0.path, R_OK) == 0 }
    }

    /// The trained model of a project, loaded once per finished job (a job that
    /// finished on any node since replaces it).
    func model(_ projectID: Int) async throws -> RewardTraining.LoadedModel? {
        let finishedAt = try await store.pool.read { db in try Jobs.find(db, projectID: projectID)?.finishedAt }
        if let cached = models.withLock({ $0[projectID] }), cached.finishedAt == finishedAt { return cached.model }
        guard access(directory(projectID) + "/model/config.json", R_OK) == 0 else { return nil }
        let model = try RewardTraining.load(directory(projectID) + "/model")
        models.withLock { $0[projectID] = (finishedAt, model) }
        return model
    }

    /// Removes a job directory (two levels: files and `model/`).
    static func remove(_ path: String) {
        for sub in [path + "/model", path] {
            guard let handle = opendir(sub) else { continue }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink(sub + "/" + name) }
            }
            closedir(handle)
            rmdir(sub)
        }
    }
}

/// 409 with a message.
