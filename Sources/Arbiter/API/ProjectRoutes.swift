import HTTPServer
import JSON
import Storage

/// `GET /api/projects`: what the caller may see.
struct ProjectRoutes: Sendable {
    let store: ArbiterStore

    func register(on api: inout APIRouter) {
        api.add(.POST, "/api/projects/{id}/raters/{username}/status", .admin) { request, caller in
            let projectID = try request.parameters.int("id")
            let username = try request.parameters.require("username")
            guard let object = try request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            guard let text = object["status"]?.stringValue, let decision = RaterStatus.Decision(rawValue: text) else {
                throw ValidationError("status: expected quarantined, cleared or ok")
            }
            let comment = object["comment"]?.stringValue ?? ""
            guard comment.utf8.count <= 2000 else { throw ValidationError("comment: at most 2000 bytes") }
            if decision != .ok && comment.trimmingWhitespace().isEmpty { throw ValidationError("comment: say why") }
            let now = Clock.nowMilliseconds()
            let address = request.remoteAddress
            try await store.pool.write { db in
                guard try ProjectRepository.find(db, id: projectID) != nil else { throw APIError.noSuchProject }
                guard let rater = try UserRepository.find(db, username: username) else {
                    throw HTTPError(.notFound, code: "not_found", message: "no such rater")
                }
                try RaterStatus.set(db, projectID: projectID, userID: rater.id, decision: decision, comment: comment, by: caller.user.id, now: now)
                let action = decision == .quarantined ? "rater_quarantined" : decision == .cleared ? "rater_cleared" : "rater_status_reset"
                try Audit.record(db, actor: caller.user.id, action: action, target: "project:\(projectID)/\(rater.username)",
                                 details: JSONObjectText(["comment": comment]), address: address, now: now)
            }
            return .json(["annotator": .string(username), "status": .string(decision.rawValue)])
        }
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
