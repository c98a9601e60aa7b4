import HTTPServer
import JSON
import Storage

/// What annotators reported about pairs, for admins: the list with each pair's
/// texts, and marking a report resolved (``ProjectService``).
struct ReportRoutes: Sendable {
    let store: ArbiterStore
    var projects: ProjectService { ProjectService(store: store) }
    let now: @Sendable () -> Int64

    func register(on api: inout APIRouter) {
        api.add(.GET, "/api/projects/{id}/reports", .admin) { request, _ in
            let state = request.queryItems["state"] ?? "open"
            guard state == "open" || state == "all" else { throw ValidationError("state: open or all") }
            let reports = try await projects.reports(projectID: try request.parameters.int("id"), includeResolved: state == "all")
            return .json(["reports": .array(reports.map(\.json))])
        }
        api.add(.POST, "/api/reports/{id}/resolve", .admin) { request, caller in
            try await projects.resolveReport(
                reportID: try request.parameters.int("id"), actor: caller.user.id, address: request.remoteAddress, now: now())
            return Response(status: .noContent)
        }
    }
}
