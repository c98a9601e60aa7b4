import Threads
import Glibc
import HTTPServer
import JSON
import Storage

/// Export jobs and the reward model over HTTP:
/// - `POST /api/projects/{id}/exports` (admin): export in the background, and train a
///   reward model on it; body (all optional): `format` (default trl), `reward_model`
///   (default true for pairwise formats), `aggregate`, `min_agreement`,
///   `include_flagged`, `margin`, `test_fraction`, `seed`, `epochs`, `hidden`, `bits`, `train_seed`
///   (validated by ``ExportRequest``, as the download's query and the CLI's flags are).
/// - `GET /api/projects/{id}/exports/latest`: the job's progress (epoch, loss) and the latest result.
/// - `GET /api/projects/{id}/exports/latest/files/{name}`: data, manifest, model files.
/// - `POST /api/projects/{id}/reward/score`: `{"items":[{"response"} | {"chosen","rejected"}]}` → `{"scores":[…]}`.
struct RewardRoutes: Sendable {
    let service: ExportService
    let jobs: RewardJobs

    static let maxScoreItems = 1000

    func register(on api: inout APIRouter) {
        api.add(.POST, "/api/projects/{id}/exports", .admin) { request, caller in
            let projectID = try request.parameters.int("id")
            let body = request.body.isEmpty ? [:] : try await request.jsonBody()
            let options = try Self.options(body)
            let status = try await service.startJob(
                projectID: projectID, options: options, request: body.jsonText, actor: caller.user.id,
                address: request.remoteAddress)
            return .json(["job": status.json], status: .accepted)
        }
        api.add(.GET, "/api/projects/{id}/exports/latest", .reviewing) { request, _ in
            let projectID = try request.parameters.int("id")
            _ = try await service.files(projectID: projectID)
            return .json(try await jobs.report(projectID))
        }
        api.add(.GET, "/api/projects/{id}/exports/latest/files/{name}", .reviewing) { request, _ in
            let projectID = try request.parameters.int("id")
            let name = try request.parameters.require("name")
            // Only names the job writes: no path from the client reaches the file system.
            guard let file = try await service.files(projectID: projectID).first(where: { $0.name == name }) else {
                throw ServiceError.notFound("no such file")
            }
            return try Self.download(file.path, as: "project-\(projectID)-" + name)
        }
        api.add(.POST, "/api/projects/{id}/reward/score", .reviewing) { request, _ in
            let projectID = try request.parameters.int("id")
            let body = try await request.jsonBody()
            guard let items = body["items"]?.arrayValue else {
                throw ValidationError("items: expected an array of {response} or {chosen, rejected} objects")
            }
            guard items.count <= Self.maxScoreItems else { throw ValidationError("items: at most \(Self.maxScoreItems) per request") }
            let model = try await service.model(projectID: projectID)
            // Scoring a thousand items takes seconds: never on the event loop.
            let scores = try await Workers.heavy.run { () throws -> [JSONValue] in
                var scores: [JSONValue] = []
                for (index, item) in items.enumerated() {
                    do throws(ValidationError) {
                        scores.append(try RewardTraining.score(model, item))
                    } catch {
                        throw ValidationError("items[\(index)]: \(error.message)")
                    }
                }
                return scores
            }
            return .json(["scores": .array(scores)])
        }
    }

    /// Export and training options from the POST body (all optional).
    static func options(_ body: JSONValue) throws -> ExportOptions {
        try RewardJobs.options(from: body)
    }

    /// A whole file as an attachment (model files are at most a few hundred MB; data files stream).
    static func download(_ path: String, as filename: String) throws -> Response {
        guard let handle = fopen(path, "rb") else { throw HTTPError(.notFound, code: "not_found", message: "no such file") }
        fclose(handle)
        var headers: HTTPHeaders = ["Content-Disposition": "attachment; filename=\"\(filename)\""]
        headers["Cache-Control"] = "no-store"
        return .streamingFile(path, contentType: ExportFormat.contentType(ofFile: filename), headers: headers)
    }
}
