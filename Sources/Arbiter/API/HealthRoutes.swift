import HTTPServer
import Storage

/// `GET /healthz`: liveness without touching the database. `GET /readyz`: the
/// database answers a read within a second and no write failed for lack of
/// space in the last seconds (503 otherwise), for load balancers.
/// `GET /metrics`: Prometheus text (admins; scrape with an API token).
enum HealthRoutes {
    static let ok = Array(#"{"status":"ok"}"#.utf8)
    static let ready = Array(#"{"status":"ready"}"#.utf8)

    static func register(on router: inout Router) {
        router.inline(.GET, "/healthz") { _ in .json(ok) }
    }

    static func register(
        on api: inout APIRouter, store: ArbiterStore, metrics: ArbiterMetrics, storage: StorageFullMonitor,
        openConnections: @escaping @Sendable () -> Int, now: @escaping @Sendable () -> Int64
    ) {
        api.addPublic(.GET, "/readyz") { _ in
            // Reads may still work with the disk full; a node that cannot write is not ready.
            if storage.isFull {
                return Response(
                    status: .serviceUnavailable, contentType: "application/json", body: Array(#"{"status":"storage full"}"#.utf8))
            }
            let answer = try await withThrowingTaskGroup(of: Bool.self) { group in
                // Unreachable (a PostgreSQL restart) or failing: not ready, whatever the error.
                group.addTask { (try? await HealthService(store: store).databaseAnswers()) ?? false }
                group.addTask {
                    try await Task.sleep(for: .seconds(1))
                    return false
                }
                let first = try await group.next() ?? false
                group.cancelAll()
                return first
            }
            guard answer else {
                return Response(
                    status: .serviceUnavailable, contentType: "application/json", body: Array(#"{"status":"database not answering"}"#.utf8))
            }
            return .json(ready)
        }
        api.add(.GET, "/metrics", .admin) { _, _ in
            let time = now()
            let leases = try await HealthService(store: store).liveLeases(now: time)
            return Response(
                status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                body: metrics.render(openConnections: openConnections(), liveLeases: leases, statements: store.pool.statements.total))
        }
    }
}
