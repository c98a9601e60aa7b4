import HTTPServer

/// `GET /healthz`: liveness without touching the database.
enum HealthRoutes {
    static let ok = Array(#"{"status":"ok"}"#.utf8)

    static func register(on router: inout Router) {
        router.inline(.GET, "/healthz") { _ in .json(ok) }
    }
}
