import HTTPServer
import JSON
import Storage

/// `POST /api/projects/{id}/pairs` and `/annotations`: JSONL bodies, admins only.
/// Query: `skip_invalid=true`, `dry_run=true`, `pairs_per_prompt=k`. The work is
/// ``ImportService``'s: pairs are staged so annotators keep going meanwhile.
struct ImportRoutes: Sendable {
    let store: ArbiterStore
    let now: @Sendable () -> Int64
    /// Largest upload.
    static let maxBodyBytes = 512 * 1024 * 1024

    func register(on api: inout APIRouter) {
        api.add(.POST, "/api/projects/{id}/pairs", .admin, maxBodyBytes: Self.maxBodyBytes) { request, caller in
            try await respond {
                try await ImportService(store: store).pairs(
                    projectID: try request.parameters.int("id"), body: request.body, options: try options(request),
                    actor: caller.user.id, address: request.remoteAddress, now: now, parse: Workers.importing)
            }
        }
        api.add(.POST, "/api/projects/{id}/annotations", .admin, maxBodyBytes: Self.maxBodyBytes) { request, caller in
            try await respond {
                try await ImportService(store: store).annotations(
                    projectID: try request.parameters.int("id"), body: request.body, options: try options(request),
                    actor: caller.user.id, address: request.remoteAddress, now: now)
            }
        }
    }

    func options(_ request: Request) throws -> ImportOptions {
        let query = request.queryItems
        var options = ImportOptions()
        options.skipInvalid = query["skip_invalid"] == "true" || query["skip_invalid"] == "1"
        options.dryRun = query["dry_run"] == "true" || query["dry_run"] == "1"
        if let text = query["pairs_per_prompt"] {
            guard let k = Int(text), (1...1_000_000).contains(k) else {
                throw ValidationError("pairs_per_prompt: a whole number from 1 to 1000000")
            }
            options.pairsPerPrompt = k
        }
        return options
    }

    /// The report; refused, a 422 with the whole report, so a page can list every bad line.
    private func respond(_ body: () async throws -> ImportReport) async throws -> Response {
        do {
            return .json(try await body().json)
        } catch let refused as ImportRefused {
            return .json(
                ["error": ["code": "import_refused", "message": .string(refused.description)], "report": refused.report.json],
                status: .unprocessableContent)
        }
    }
}
