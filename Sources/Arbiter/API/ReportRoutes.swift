import HTTPServer
import JSON
import Storage

/// What annotators reported about pairs, for admins: the list with each pair's
/// texts, and marking a report resolved.
struct ReportRoutes: Sendable {
    let store: ArbiterStore
    let now: @Sendable () -> Int64

    func register(on api: inout APIRouter) {
        api.add(.GET, "/api/projects/{id}/reports", .admin) { request, _ in
            let projectID = try request.parameters.int("id")
            let state = request.queryItems["state"] ?? "open"
            guard state == "open" || state == "all" else { throw ValidationError("state: open or all") }
            let reports = try await store.pool.read { db -> [PairReport] in
                guard try ProjectRepository.find(db, id: projectID) != nil else { throw APIError.noSuchProject }
                return try PairReports.list(db, projectID: projectID, includeResolved: state == "all", limit: 500)
            }
            return .json(["reports": .array(reports.map(\.json))])
        }
        api.add(.POST, "/api/reports/{id}/resolve", .admin) { request, caller in
            let reportID = try request.parameters.int("id")
            let now = self.now()
            let address = request.remoteAddress
            let resolved = try await store.pool.write { db -> Bool in
                guard let projectID = try PairReports.projectOf(db, reportID: reportID),
                      try PairReports.resolve(db, projectID: projectID, reportID: reportID, by: caller.user.id, now: now)
                else { return false }
                try Audit.record(db, actor: caller.user.id, action: "report_resolved", target: "report:\(reportID)", address: address, now: now)
                return true
            }
            guard resolved else { throw HTTPError(.notFound, code: "not_found", message: "no open report with this id") }
            return Response(status: .noContent)
        }
    }
}
