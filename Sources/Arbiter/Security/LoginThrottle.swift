public import Storage

/// Failed logins per username and per client address within a window; past the
/// limit, logins are refused with 429 until the oldest failure leaves the window.
public enum LoginThrottle {
    public static let window: Int64 = 15 * 60 * 1000
    public static let limit = 5

    /// Milliseconds until a login may be tried again, or nil if allowed now.
    public static func retryAfter(_ db: Database, username: String, address: String, now: Int64) throws -> Int64? {
        let since = now - window
        let key = username.lowercased()
        let byName = try db.query(
            "SELECT at FROM login_failures WHERE username = ? AND at > ? ORDER BY at DESC LIMIT ?",
            [.text(key), .int(since), .int(Int64(limit))]) { $0.int64(0) }
        let byAddress = try db.query(
            "SELECT at FROM login_failures WHERE address = ? AND at > ? ORDER BY at DESC LIMIT ?",
            [.text(address), .int(since), .int(Int64(limit))]) { $0.int64(0) }
        var waits: [Int64] = []
        if byName.count >= limit, let oldest = byName.last { waits.append(oldest + window - now) }
        if byAddress.count >= limit, let oldest = byAddress.last { waits.append(oldest + window - now) }
        return waits.max().map { max(1000, $0) }
    }

    /// Records a failure.
    public static func recordFailure(_ db: Database, username: String, address: String, now: Int64) throws {
        try db.run("INSERT INTO login_failures (username, address, at) VALUES (?, ?, ?)", [.text(username.lowercased()), .text(address), .int(now)])
        try db.run("DELETE FROM login_failures WHERE at < ?", [.int(now - 2 * window)])
    }
}
