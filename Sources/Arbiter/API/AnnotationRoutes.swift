import HTTPServer
import JSON
import Storage

/// The annotation loop over HTTP: `GET /api/projects/{id}/next`,
/// `POST|PUT /api/assignments/{id}/annotation`, `POST /api/assignments/{id}/skip`,
/// `POST /api/assignments/{id}/report`, `GET /api/projects/{id}/progress`.
/// Parse → ``AnnotationService`` → render.
struct AnnotationRoutes: Sendable {
    let service: AnnotationService
    let studies: StudyService

    func register(on api: inout APIRouter) {
        api.add(.GET, "/api/projects/{id}/next", .annotating) { request, caller in
            if let scope = caller.session?.study {
                // A study participant: the study's rules (screener, count, time limit).
                guard let assignment = try await studies.next(scope: scope, userID: caller.user.id, annotations: service) else {
                    return Response(status: .noContent)
                }
                return .json(["assignment": assignment.json])
            }
            guard
                let assignment = try await service.next(
                    projectID: try request.parameters.int("id"), userID: caller.user.id,
                    membersOnly: caller.user.role == .annotator)
            else {
                return Response(status: .noContent)
            }
            return .json(["assignment": assignment.json])
        }
        api.add(.POST, "/api/assignments/{id}/annotation", .annotating) { request, caller in
            let id = try request.parameters.int("id")
            let submission = try Submission.parse(try await request.jsonBody())
            let (annotation, replayed) = try await service.submit(assignmentID: id, userID: caller.user.id, submission)
            return .json(["annotation": annotation.json], status: replayed ? .ok : .created)
        }
        api.add(.PUT, "/api/assignments/{id}/annotation", .annotating) { request, caller in
            let id = try request.parameters.int("id")
            let submission = try Submission.parse(try await request.jsonBody())
            return .json(["annotation": try await service.revise(assignmentID: id, userID: caller.user.id, submission).json])
        }
        api.add(.POST, "/api/assignments/{id}/skip", .annotating) { request, caller in
            try await service.skip(assignmentID: try request.parameters.int("id"), userID: caller.user.id)
            return Response(status: .noContent)
        }
        api.add(.POST, "/api/assignments/{id}/report", .annotating) { request, caller in
            let id = try request.parameters.int("id")
            guard let reason = try await request.jsonBody()["reason"]?.stringValue else {
                throw ValidationError("reason: a description of 1 to \(PairReports.maxReasonBytes) bytes")
            }
            try await service.report(assignmentID: id, userID: caller.user.id, reason: reason)
            return Response(status: .created)
        }
        api.add(.GET, "/api/projects/{id}/progress", .annotating) { request, caller in
            let progress = try await service.progress(
                projectID: try request.parameters.int("id"), userID: caller.user.id,
                membersOnly: caller.user.role == .annotator)
            return .json(["progress": progress.json])
        }
    }
}
