import HTTPServer
import JSON
import Storage

/// `GET /api/projects`: what the caller may see.
struct ProjectRoutes: Sendable {
    let store: ArbiterStore

    func register(on api: inout APIRouter) {
        api.add(.GET, "/api/projects/{id}/raters", .reviewing) { request, _ in
            let id = try request.parameters.int("id")
            let report = try await store.pool.read { db -> JSONValue in
                guard try ProjectRepository.find(db, id: id) != nil else { throw APIError.noSuchProject }
                return try RaterQuery.report(db, projectID: id)
            }
            return .json(report)
        }
        api.add(.GET, "/api/projects/{id}/agreement", .reviewing) { request, _ in
            let id = try request.parameters.int("id")
            let report = try await store.pool.read { db -> JSONValue in
                guard try ProjectRepository.find(db, id: id) != nil else { throw APIError.noSuchProject }
                return try AgreementQuery.report(db, projectID: id)
            }
            return .json(report)
        }
        api.add(.GET, "/api/projects/{id}", .everyone) { request, _ in
            let id = try request.parameters.int("id")
            guard let project = try await store.pool.read({ db in try ProjectRepository.find(db, id: id) }) else {
                throw APIError.noSuchProject
            }
            return .json(["project": project.json])
        }
        api.add(.GET, "/api/projects", .everyone) { _, _ in
            let projects = try await store.pool.read { db in try ProjectRepository.list(db) }
            return .json([
                "projects": .array(projects.map { entry in
                    var object = entry.project.json.objectValue ?? JSONObject()
                    object["pairs"] = .int(Int64(entry.pairs))
                    object["annotations"] = .int(Int64(entry.annotations))
                    return .object(object)
                })
            ])
        }
    }
}
