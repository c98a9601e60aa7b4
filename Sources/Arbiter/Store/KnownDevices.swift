import Storage

/// The `known_devices` table: browsers that signed in successfully as a person,
/// by the SHA-256 of their `arbiter_device` cookie token (the token is never
/// stored). See ``LoginThrottle`` for what a known device changes.
public enum KnownDevices {
    public static let cookieName = "arbiter_device"
    /// A device is forgotten this long after its last successful sign-in.
    public static let lifetime: Int64 = 180 * 24 * 3600 * 1000

    /// Remembers a new device for `userID`; returns its cookie token (shown once).
    static func remember(_ db: any Database, userID: Int, now: Int64) throws -> String {
        let token = Base64URL.encode(Digest.randomBytes(32))
        try db.run(
            "INSERT INTO known_devices (token_hash, user_id, created_at, last_used_at) VALUES (?, ?, ?, ?)",
            [.blob(Digest.sha256(token)), .int(Int64(userID)), .int(now), .int(now)])
        try db.run("DELETE FROM known_devices WHERE last_used_at < ?", [.int(now - lifetime)])
        return token
    }

    /// The throttle key of `token` if it is a live device of `username`, else nil.
    static func key(_ db: any Database, token: String, username: String, now: Int64) throws -> String? {
        guard !token.isEmpty, token.utf8.count < 100 else { return nil }
        let hash = Digest.sha256(token)
        let known =
            try db.queryFirst(
                """
                SELECT 1 FROM known_devices d JOIN users u ON u.id = d.user_id
                WHERE d.token_hash = ? AND lower(u.username) = ? AND d.last_used_at > ?
                """, [.blob(hash), .text(username.lowercased()), .int(now - lifetime)]
            ) { _ in true } ?? false
        guard known else { return nil }
        return "device:" + Digest.hex(Array(hash.prefix(12)))
    }

    /// Records a successful sign-in from a known device.
    static func touch(_ db: any Database, token: String, now: Int64) throws {
        try db.run("UPDATE known_devices SET last_used_at = ? WHERE token_hash = ?", [.int(now), .blob(Digest.sha256(token))])
    }

    /// Forgets every device of a person (their password changed).
    static func forgetAll(_ db: any Database, userID: Int) throws {
        try db.run("DELETE FROM known_devices WHERE user_id = ?", [.int(Int64(userID))])
    }
}
