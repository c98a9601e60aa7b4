import HTTPServer
import JSON
import Storage

/// `POST /api/projects/{id}/pairs` and `/annotations`: JSONL bodies, admins only.
/// Query: `skip_invalid=true`, `dry_run=true`, `pairs_per_prompt=k`.
struct ImportRoutes: Sendable {
    let store: ArbiterStore
    let now: @Sendable () -> Int64
    /// Largest upload.
    static let maxBodyBytes = 512 * 1024 * 1024

    func register(on api: inout APIRouter) {
        api.add(.POST, "/api/projects/{id}/pairs", .admin, maxBodyBytes: Self.maxBodyBytes) { request, caller in
            try await importPairs(request, caller)
        }
        api.add(.POST, "/api/projects/{id}/annotations", .admin, maxBodyBytes: Self.maxBodyBytes) { request, caller in
            try await importAnnotations(request, caller)
        }
    }

    func options(_ request: Request) throws -> ImportOptions {
        let query = request.queryItems
        var options = ImportOptions()
        options.skipInvalid = query["skip_invalid"] == "true" || query["skip_invalid"] == "1"
        options.dryRun = query["dry_run"] == "true" || query["dry_run"] == "1"
        if let text = query["pairs_per_prompt"] {
            guard let k = Int(text), k >= 1 else { throw ValidationError("pairs_per_prompt: expected a positive integer") }
            options.pairsPerPrompt = k
        }
        return options
    }

    func importPairs(_ request: Request, _ caller: Caller) async throws -> Response {
        try await runImport(request, caller, action: "import_pairs") { db, project, reader, options in
            try PairImporter.run(db, projectID: project.id, reader: &reader, options: options)
        }
    }

    func importAnnotations(_ request: Request, _ caller: Caller) async throws -> Response {
        try await runImport(request, caller, action: "import_annotations") { db, project, reader, options in
            try AnnotationImporter.run(db, project: project, reader: &reader, options: options)
        }
    }

    /// Runs an importer alone on the writer over the request body; audits what was committed.
    func runImport(
        _ request: Request, _ caller: Caller, action: String,
        _ importer: @escaping @Sendable (Database, Project, inout JSONLReader, ImportOptions) throws -> ImportReport
    ) async throws -> Response {
        let projectID = try request.parameters.int("id")
        let options = try options(request)
        let body = request.body
        let now = self.now()
        let report: ImportReport
        do {
            report = try await run(request, caller, projectID: projectID, options: options, body: body, now: now, action: action, importer)
        } catch let refused as ImportRefused {
            // 422 with the whole report, so a page can list every bad line it was given.
            return .json(["error": ["code": "import_refused", "message": .string(refused.description)], "report": refused.report.json],
                         status: .unprocessableContent)
        }
        return .json(report.json)
    }

    private func run(
        _ request: Request, _ caller: Caller, projectID: Int, options: ImportOptions, body: [UInt8], now: Int64, action: String,
        _ importer: @escaping @Sendable (Database, Project, inout JSONLReader, ImportOptions) throws -> ImportReport
    ) async throws -> ImportReport {
        try await store.pool.exclusive { db -> ImportReport in
            guard let project = try ProjectRepository.find(db, id: projectID) else { throw APIError.noSuchProject }
            var reader = JSONLReader(bytes: body)
            let report = try importer(db, project, &reader, options)
            if report.committed {
                try Audit.record(db, actor: caller.user.id, action: action, target: "project:\(projectID)",
                                 details: JSONObjectText(["imported": "\(report.imported)"]), address: request.remoteAddress, now: now)
            }
            return report
        }
    }
}
