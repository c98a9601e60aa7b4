import Glibc
import JSON
import RewardModel
import Storage
import Synchronization

/// Background export jobs (with a reward model trained on the export), one at a
/// time per server (training uses every core). Each project's latest result lives
/// in `ROOT/project-ID/`: the export (`data*.jsonl` or `data.csv`), its manifest,
/// and `model/`.
/// A job writes into a fresh directory and swaps it in only when it succeeded,
/// so downloads and scoring never see half a result.
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

        var json: JSONValue {
            [
                "state": .string(state), "epoch": .int(Int64(epoch)), "epochs": .int(Int64(epochs)),
                "loss": loss.map(JSONValue.double) ?? .null, "validation_loss": validationLoss.map(JSONValue.double) ?? .null,
                "started_at": .string(Clock.iso8601(milliseconds: startedAt)),
                "finished_at": finishedAt.map { .string(Clock.iso8601(milliseconds: $0)) } ?? .null,
                "error": error.map(JSONValue.string) ?? .null,
            ]
        }
    }

    let root: String
    private let store: ArbiterStore
    private let jobs = Mutex<[Int: Status]>([:])
    private let models = Mutex<[Int: RewardTraining.LoadedModel]>([:])
    private let pool = ThreadPool(name: "reward", threads: 1)

    init(root: String, store: ArbiterStore) {
        self.root = root
        self.store = store
    }

    func directory(_ projectID: Int) -> String { root + "/project-\(projectID)" }

    /// Starts a job; throws 409 while any job runs.
    func start(project: Project, options: ExportOptions, now: @escaping @Sendable () -> Int64) throws -> Status {
        let status = try jobs.withLock { jobs -> Status in
            if let (id, _) = jobs.first(where: { $0.value.state == "running" }) {
                throw ServiceError.conflict(code: "conflict", message: "a reward model is already training (project \(id)); try again when it is done")
            }
            var status = Status()
            status.startedAt = now()
            status.epochs = options.rewardModel == nil ? 0 : options.rewardTraining.epochs
            jobs[project.id] = status
            return status
        }
        let projectID = project.id
        let finalDirectory = directory(projectID)
        let root = root
        Task {
            do {
                let predictions = try await pool.run { [self] () throws -> [RewardPrediction] in
                    if mkdir(root, 0o700) != 0 && errno != EEXIST { throw ServiceError.unavailable("\(root): \(String(cString: strerror(errno)))") }
                    let staging = finalDirectory + ".tmp-\(now())"
                    if mkdir(staging, 0o700) != 0 { throw ServiceError.unavailable("\(staging): \(String(cString: strerror(errno)))") }
                    do {
                        var options = options
                        if options.rewardModel != nil { options.rewardModel = staging + "/model" }
                        options.rewardProgress = { [self] report in
                            jobs.withLock { jobs in
                                jobs[projectID]?.epoch = report.epoch
                                jobs[projectID]?.loss = report.loss
                                jobs[projectID]?.validationLoss = report.validationLoss
                            }
                        }
                        let db = try store.pool.openReader()
                        var predictions: [RewardPrediction] = []
                        let data = staging + "/data." + options.format.fileExtension
                        _ = try Exporter.run(db, project: project, options: options, out: data, now: now(), predictions: &predictions)
                        Self.remove(finalDirectory)
                        guard rename(staging, finalDirectory) == 0 else { throw ServiceError.unavailable("cannot move the result into place") }
                        return predictions
                    } catch {
                        Self.remove(staging)
                        throw error
                    }
                }
                models.withLock { _ = $0.removeValue(forKey: projectID) }
                let stamp = now()
                if !predictions.isEmpty {
                    try await store.pool.write { db in try RewardPrediction.store(predictions, projectID: projectID, in: db, now: stamp) }
                }
                finish(projectID, error: nil, now: now())
            } catch {
                finish(projectID, error: "\(error)", now: now())
            }
        }
        return status
    }

    private func finish(_ projectID: Int, error: String?, now: Int64) {
        jobs.withLock { jobs in
            jobs[projectID]?.state = error == nil ? "done" : "failed"
            jobs[projectID]?.error = error
            jobs[projectID]?.finishedAt = now
        }
    }

    /// The job's status (this server's run) and the latest result on disk.
    func report(_ projectID: Int) -> JSONValue {
        let status = jobs.withLock { $0[projectID] }
        let manifest = files(projectID).first { $0.name == "manifest.json" }.flatMap { TextFile.read($0.path) }.flatMap { try? JSONValue.parse($0) }
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
        return names + [("model.safetensors", "model/model.safetensors"), ("config.json", "model/config.json"), ("metrics.json", "model/metrics.json")]
    }()

    /// The downloadable files that exist: name → full path.
    func files(_ projectID: Int) -> [(name: String, path: String)] {
        let base = directory(projectID)
        return Self.downloads.map { ($0.name, base + "/" + $0.path) }.filter { access($0.path, R_OK) == 0 }
    }

    /// The trained model of a project, loaded once.
    func model(_ projectID: Int) throws -> RewardTraining.LoadedModel? {
        if let model = models.withLock({ $0[projectID] }) { return model }
        guard access(directory(projectID) + "/model/config.json", R_OK) == 0 else { return nil }
        let model = try RewardTraining.load(directory(projectID) + "/model")
        models.withLock { $0[projectID] = model }
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

