import Storage

/// The `login_failures` table behind ``LoginThrottle``: one row per counted attempt.
enum LoginFailures {
    /// Which attempts count together.
    enum Scope {
        case userAndAddress, address, user
    }

    /// The times of the newest `limit` attempts in `scope` since `since`, newest first.
    static func recent(_ db: any Database, _ scope: Scope, username: String, address: String, since: Int64, limit: Int) throws -> [Int64] {
        let (filter, values): (String, [SQLValue]) =
            switch scope {
            case .userAndAddress: ("username = ? AND address = ?", [.text(username), .text(address)])
            case .address: ("address = ?", [.text(address)])
            case .user: ("username = ?", [.text(username)])
            }
        return try db.query(
            "SELECT at FROM login_failures WHERE \(filter) AND at > ? ORDER BY at DESC LIMIT ?",
            values + [.int(since), .int(Int64(limit))]
        ) { $0.int64(0) }
    }

    /// Counts an attempt; returns its id (the reservation).
    static func add(_ db: any Database, username: String, address: String, at: Int64) throws -> Int64 {
        try db.insert("INSERT INTO login_failures (username, address, at) VALUES (?, ?, ?)", [.text(username), .text(address), .int(at)])
    }

    /// Gives one attempt back.
    static func remove(_ db: any Database, id: Int64) throws {
        try db.run("DELETE FROM login_failures WHERE id = ?", [.int(id)])
    }

    /// Forgets attempts older than `before`.
    static func forget(_ db: any Database, before: Int64) throws {
        try db.run("DELETE FROM login_failures WHERE at < ?", [.int(before)])
    }
}
