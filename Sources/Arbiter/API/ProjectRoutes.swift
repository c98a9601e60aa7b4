import CLinux
import HTTPServer
import JSON
import Storage

/// Projects: create and edit (admins), the list and one project (everyone signed in),
/// the dashboard, agreement and rater reports (reviewers), rater decisions (admins).
struct ProjectRoutes: Sendable {
    let store: ArbiterStore
    let now: @Sendable () -> Int64

    func register(on api: inout APIRouter) {
        api.add(.POST, "/api/projects", .admin) { request, caller in
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            if let unknown = object.keys.first(where: { $0 != "name" && !ProjectSettings.fields.contains($0) }) {
                throw ValidationError("\(unknown): unknown field")
            }
            guard let name = object["name"]?.stringValue else { throw ValidationError("name: expected a string") }
            var parsed = ProjectSettings()
            try parsed.apply(object)
            let settings = parsed
            let address = request.remoteAddress
            let now = now()
            let project = try await store.pool.write { db in
                try Creation.project(db, name: name, settings: settings, actor: caller.user.id, via: "api", address: address, now: now)
            }
            return .json(["project": project.json], status: .created)
        }
        api.add(.PATCH, "/api/projects/{id}", .admin) { request, caller in
            let id = try request.parameters.int("id")
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            if let unknown = object.keys.first(where: { $0 != "name" && !ProjectSettings.fields.contains($0) }) {
                throw ValidationError("\(unknown): unknown field")
            }
            if let value = object["name"], value.stringValue == nil { throw ValidationError("name: expected a string") }
            let address = request.remoteAddress
            let now = now()
            let project = try await store.pool.write { db -> Project in
                guard var project = try ProjectRepository.find(db, id: id) else { throw APIError.noSuchProject }
                try project.settings.apply(object)
                project.name = object["name"]?.stringValue ?? project.name
                try ProjectRepository.update(db, id: id, name: project.name, settings: project.settings)
                try Audit.record(db, actor: caller.user.id, action: "project_updated", target: "project:\(id)",
                                 details: JSONObjectText(["fields": object.keys.sorted().joined(separator: ",")]), address: address, now: now)
                return try ProjectRepository.find(db, id: id) ?? project
            }
            return .json(["project": project.json])
        }
        api.add(.GET, "/api/projects/{id}/dashboard", .reviewing) { request, _ in
            let id = try request.parameters.int("id")
            let now = now()
            let report = try await store.pool.read { db -> JSONValue in
                guard let project = try ProjectRepository.find(db, id: id) else { throw APIError.noSuchProject }
                return try Dashboard.report(db, project: project, now: now)
            }
            return .json(report)
        }
        api.add(.POST, "/api/projects/{id}/raters/{username}/status", .admin) { request, caller in
            let projectID = try request.parameters.int("id")
            let username = try request.parameters.require("username")
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            guard let text = object["status"]?.stringValue, let decision = RaterStatus.Decision(rawValue: text) else {
                throw ValidationError("status: expected quarantined, cleared or ok")
            }
            let comment = object["comment"]?.stringValue ?? ""
            guard comment.utf8.count <= 2000 else { throw ValidationError("comment: at most 2000 bytes") }
            if decision != .ok && comment.trimmingWhitespace().isEmpty { throw ValidationError("comment: say why") }
            let now = self.now()
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
            let report = try await AgreementService.raters(store: store, projectID: id)
            clinux_malloc_trim()  // the signals' working set (hundreds of MB at scale) goes back to the OS
            return .json(report.json)
        }
        api.add(.GET, "/api/projects/{id}/agreement", .reviewing) { request, _ in
            let id = try request.parameters.int("id")
            let report = try await AgreementService.agreement(store: store, projectID: id)
            clinux_malloc_trim()
            return .json(report.json)
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
            return .json(["projects": .array(projects.map(\.json))])
        }
    }
}
