public import Storage

/// Who did what, when.
public enum AuditLog {
    /// Appends an entry.
    public static func record(
        _ db: any Database, actor: Int?, action: String, target: String = "", details: JSONObjectText = JSONObjectText(),
        address: String = "",
        now: Int64
    ) throws {
        try db.run(
            "INSERT INTO audit_log (at, actor_id, action, target, details, address) VALUES (?, ?, ?, ?, ?, ?)",
            [.int(now), SQLValue(actor), .text(action), .text(target), .text(details.text), .text(address)])
    }

    /// The newest entry of `action` on `target` from `address` since `since`.
    static func latest(
        _ db: any Database, action: String, target: String, address: String, since: Int64
    ) throws -> (id: Int64, details: String)? {
        try db.queryFirst(
            "SELECT id, details FROM audit_log WHERE action = ? AND target = ? AND address = ? AND at > ? ORDER BY id DESC LIMIT 1",
            [.text(action), .text(target), .text(address), .int(since)]
        ) { ($0.int64(0), $0.string(1)) }
    }

    /// Rewrites an entry's details (a counter kept in one row instead of many).
    static func replaceDetails(_ db: any Database, id: Int64, details: JSONObjectText) throws {
        try db.run("UPDATE audit_log SET details = ? WHERE id = ?", [.text(details.text), .int(id)])
    }

    /// The newest entries first.
    public static func list(_ db: any Database, limit: Int, before: Int?) throws -> [AuditEntry] {
        try db.query(
            """
            SELECT a.id, a.at, a.actor_id, u.username, a.action, a.target, a.details, a.address
            FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
            WHERE a.id < ? ORDER BY a.id DESC LIMIT ?
            """, [.int(Int64(before ?? Int.max)), .int(Int64(limit))]
        ) { row in
            AuditEntry(
                id: row.int(0), at: row.int64(1), actorID: row.optionalInt(2), actor: row.optionalString(3), action: row.string(4),
                target: row.string(5), details: row.string(6), address: row.string(7))
        }
    }
}

/// One audit entry.
public struct AuditEntry: Sendable {
    public var id: Int
    public var at: Int64
    public var actorID: Int?
    public var actor: String?
    public var action: String
    public var target: String
    public var details: String
    public var address: String
}
