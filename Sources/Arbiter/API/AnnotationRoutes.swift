import HTTPServer
import JSON
import Storage

/// The annotation loop: `GET /api/projects/{id}/next` and
/// `POST /api/assignments/{id}/annotation`.
struct AnnotationRoutes: Sendable {
    let store: ArbiterStore
    /// The lease clock (Unix ms); tests move it.
    let now: @Sendable () -> Int64

    func register(on api: inout APIRouter) {
        api.add(.GET, "/api/projects/{id}/next", .annotating) { request, caller in try await next(request, caller.user) }
        api.add(.POST, "/api/assignments/{id}/annotation", .annotating) { request, caller in try await submit(request, caller.user) }
    }

    func next(_ request: Request, _ user: User) async throws -> Response {
        let projectID = try request.parameters.int("id")
        let now = self.now()
        let assignment = try await store.pool.write { db -> Assignment? in
            guard let project = try ProjectRepository.find(db, id: projectID) else { throw APIError.noSuchProject }
            var random = SystemRandomNumberGenerator()
            return try Assignments.next(db, project: project, userID: user.id, now: now, random: &random)
        }
        guard let assignment else { return Response(status: .noContent) }
        return .json(["assignment": assignment.json])
    }

    func submit(_ request: Request, _ user: User) async throws -> Response {
        let assignmentID = try request.parameters.int("id")
        let body = try request.jsonBody()
        let now = self.now()
        let (annotation, replayed) = try await store.pool.write { db in
            try Annotations.submit(db, assignmentID: assignmentID, userID: user.id, body: body, now: now)
        }
        return .json(["annotation": annotation.json], status: replayed ? .ok : .created)
    }
}
