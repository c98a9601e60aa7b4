import CLinux
public import Storage

/// Exports and reward models: a streamed download, background jobs that may train
/// a reward model, their results, and scoring with the trained model. Every
/// export is audited here, whatever the door.
public struct ExportService: Sendable {
    let store: ArbiterStore
    let jobs: RewardJobs
    let now: @Sendable () -> Int64
    /// Where streamed exports are written before they are sent.
    var temporaryRoot = TemporaryExport.defaultRoot

    /// A written export waiting to be sent: the data file lives as long as `directory`.
    struct Download: Sendable {
        let manifest: ExportManifest
        let path: String
        let directory: TemporaryExport
    }

    /// Writes the export (one snapshot) to a private temporary file and audits it.
    func download(projectID: Int, options: ExportOptions, actor: Int, address: String) async throws -> Download {
        let now = self.now()
        guard let temporary = TemporaryExport(root: temporaryRoot) else { throw ServiceError.unavailable("cannot create a temporary file") }
        let path = temporary.directory + "/export"
        let manifest = try await store.pool.read { db -> ExportManifest in
            guard let project = try Projects.find(db, id: projectID) else { throw ServiceError.noSuchProject }
            return try Exporter.run(db, project: project, options: options, out: path, now: now)
        }
        clinux_malloc_trim()
        try await store.pool.write { db in
            try AuditLog.record(
                db, actor: actor, action: "export", target: "project:\(projectID)",
                details: JSONObjectText(["format": options.format.rawValue]), address: address, now: now)
        }
        return Download(manifest: manifest, path: path, directory: temporary)
    }

    /// Exports `project` to `out` on `db` (the command line): one snapshot, the
    /// reward model's out-of-fold predictions stored for the rater signal, audited.
    public static func export(
        _ db: any Database, project: Project, options: ExportOptions, out: String, actor: Int?, via: String, now: Int64
    ) throws -> ExportManifest {
        var predictions: [RewardPrediction] = []
        let manifest = try Exporter.run(db, project: project, options: options, out: out, now: now, predictions: &predictions)
        try db.transaction {
            if !predictions.isEmpty { try RewardPrediction.store(predictions, projectID: project.id, in: db, now: now) }
            try AuditLog.record(
                db, actor: actor, action: "export", target: "project:\(project.id)",
                details: JSONObjectText(["format": options.format.rawValue, "via": via]), now: now)
        }
        return manifest
    }

    /// Starts a background export (and reward model) of the project; one at a time per server.
    /// `request` is the job's JSON, kept so that another node can run it again.
    func startJob(projectID: Int, options: ExportOptions, request: String, actor: Int, address: String) async throws -> RewardJobs.Status {
        guard let project = try await store.pool.read({ db in try Projects.find(db, id: projectID) }) else {
            throw ServiceError.noSuchProject
        }
        let status = try await jobs.start(project: project, request: request, options: options)
        let now = self.now()
        try await store.pool.write { db in
            try AuditLog.record(
                db, actor: actor, action: "export", target: "project:\(projectID)",
                details: JSONObjectText(["format": options.format.rawValue, "reward_model": options.rewardModel == nil ? "no" : "yes"]),
                address: address, now: now)
        }
        return status
    }

    /// The files of the project's latest result (a job's), by download name.
    func files(projectID: Int) async throws -> [(name: String, path: String)] {
        _ = try await ProjectService(store: store).find(id: projectID)
        return jobs.files(projectID)
    }

    /// The project's trained reward model, or ``ServiceError/notFound(_:)``.
    func model(projectID: Int) async throws -> RewardTraining.LoadedModel {
        _ = try await ProjectService(store: store).find(id: projectID)
        guard let model = try await jobs.model(projectID) else {
            throw ServiceError.notFound("no reward model has been trained for this project yet", code: "no_model")
        }
        return model
    }
}
