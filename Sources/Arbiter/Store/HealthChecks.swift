import Storage

/// What `/readyz` and `/metrics` ask the database.
enum HealthChecks {
    /// Whether the database answers a trivial read.
    static func answers(_ db: any Database) throws -> Bool {
        try db.queryFirst("SELECT 1") { $0.int(0) } == 1
    }

    /// Leases live at `now`, across projects.
    static func liveLeases(_ db: any Database, now: Int64) throws -> Int {
        try db.queryFirst("SELECT count(*) FROM assignments WHERE state = 'leased' AND expires_at > ?", [.int(now)]) { $0.int(0) } ?? 0
    }
}
