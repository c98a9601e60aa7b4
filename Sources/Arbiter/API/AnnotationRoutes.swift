import HTTPServer
import JSON
import Storage

/// The annotation loop: `GET /api/projects/{id}/next` and
/// `POST /api/assignments/{id}/annotation`.
struct AnnotationRoutes: Sendable {
    let store: ArbiterStore
    var metrics: ArbiterMetrics? = nil
    /// Told of each new normal judgement (adaptive overlap, active selection).
    var adaptive: AdaptiveWorker? = nil
    /// The lease clock (Unix ms); tests move it.
    let now: @Sendable () -> Int64

    func register(on api: inout APIRouter) {
        api.add(.GET, "/api/projects/{id}/next", .annotating) { request, caller in try await next(request, caller.user) }
        api.add(.POST, "/api/assignments/{id}/annotation", .annotating) { request, caller in try await submit(request, caller.user) }
        api.add(.PUT, "/api/assignments/{id}/annotation", .annotating) { request, caller in try await revise(request, caller.user) }
        api.add(.POST, "/api/assignments/{id}/skip", .annotating) { request, caller in
            let id = try request.parameters.int("id")
            let now = self.now()
            let user = caller.user.id
            try await store.pool.write { db in try Assignments.skip(db, assignmentID: id, userID: user, now: now) }
            return Response(status: .noContent)
        }
        api.add(.POST, "/api/assignments/{id}/report", .annotating) { request, caller in
            let id = try request.parameters.int("id")
            guard let object = try await request.jsonBody().objectValue, let reason = object["reason"]?.stringValue,
                  !reason.trimmingWhitespace().isEmpty, reason.utf8.count <= PairReports.maxReasonBytes
            else { throw ValidationError("reason: a description of 1 to \(PairReports.maxReasonBytes) bytes") }
            let now = self.now()
            let user = caller.user.id
            try await store.pool.write { db in try PairReports.report(db, assignmentID: id, userID: user, reason: reason, now: now) }
            return Response(status: .created)
        }
        api.add(.GET, "/api/projects/{id}/progress", .annotating) { request, caller in
            let projectID = try request.parameters.int("id")
            let now = self.now()
            let user = caller.user.id
            let progress = try await store.pool.read { db -> JSONValue in
                guard let project = try ProjectRepository.find(db, id: projectID) else { throw APIError.noSuchProject }
                return try Progress.of(db, projectID: projectID, userID: user, now: now)
            }
            return .json(["progress": progress])
        }
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
        let body = try await request.jsonBody()
        let now = self.now()
        let (annotation, replayed, projectID) = try await store.pool.write { db in
            try Annotations.submit(db, assignmentID: assignmentID, userID: user.id, body: body, now: now)
        }
        if !replayed {
            metrics?.annotationStored()
            if annotation.kind == .normal { adaptive?.judged(projectID: projectID) }
        }
        return .json(["annotation": annotation.json], status: replayed ? .ok : .created)
    }

    /// Changes the caller's judgement on an assignment while its lease lasts (undo).
    func revise(_ request: Request, _ user: User) async throws -> Response {
        let assignmentID = try request.parameters.int("id")
        let body = try await request.jsonBody()
        let now = self.now()
        let (annotation, _, _) = try await store.pool.write { db in
            try Annotations.revise(db, assignmentID: assignmentID, userID: user.id, body: body, now: now)
        }
        return .json(["annotation": annotation.json])
    }
}
