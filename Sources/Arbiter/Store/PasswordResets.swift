public import Storage

/// One-time links that let a person choose a new password: issued by an admin,
/// single use, expiring (like invites). Issuing one revokes that person's earlier
/// unused links.
public enum PasswordResets {
    /// An issued link's facts (the token itself is returned once, by `create`).
    public struct Reset: Sendable, Equatable {
        public var id: Int
        public var userID: Int
        public var expiresAt: Int64
    }

    /// Issues a link for `userID`; the token goes in `/reset/<token>`.
    public static func create(
        _ db: any Database, userID: Int, createdBy: Int?, lifetime: Int64, now: Int64
    ) throws -> (token: String, reset: Reset) {
        try db.run(
            "UPDATE password_resets SET revoked_at = ? WHERE user_id = ? AND used_at IS NULL AND revoked_at IS NULL",
            [.int(now), .int(Int64(userID))])
        let token = Base64URL.encode(Digest.randomBytes(32))
        let id = try db.insert(
            "INSERT INTO password_resets (token_hash, user_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            [.blob(Digest.sha256(token)), .int(Int64(userID)), SQLValue(createdBy), .int(now), .int(now + lifetime)])
        return (token, Reset(id: Int(id), userID: userID, expiresAt: now + lifetime))
    }

    /// The person a usable link belongs to (enabled), or nil: cheap, so callers
    /// check it before spending scrypt time on the new password.
    public static func user(_ db: any Database, token: String, now: Int64) throws -> User? {
        guard token.utf8.count < 100 else { return nil }
        return try db.queryFirst(
            """
            SELECT u.id, u.username, u.role, u.can_log_in, u.disabled FROM password_resets r JOIN users u ON u.id = r.user_id
            WHERE r.token_hash = ? AND r.used_at IS NULL AND r.revoked_at IS NULL AND r.expires_at > ? AND u.disabled = 0
            """, [.blob(Digest.sha256(token)), .int(now)], Users.decode)
    }

    /// Uses a link: marks it used and returns its person; a used, revoked or expired
    /// link (or a disabled person) is a ``ValidationError``. The caller sets the
    /// password in the same transaction.
    public static func use(_ db: any Database, token: String, now: Int64) throws -> User {
        guard let user = try user(db, token: token, now: now) else { throw invalid }
        try db.run("UPDATE password_resets SET used_at = ? WHERE token_hash = ?", [.int(now), .blob(Digest.sha256(token))])
        return user
    }

    static let invalid = ValidationError("this password-reset link is not valid (used, replaced or expired)")
}

/// Setting a password, whatever the door (CLI, reset link, demo): the hash is
/// stored, every session of the person ends, and the change is audited.
public enum PasswordChange {
    public static func apply(
        _ db: any Database, user: User, hash: String, actor: Int?, via: String, address: String = "", now: Int64
    ) throws {
        try Users.setPasswordHash(db, userID: user.id, hash: hash)
        try Sessions.deleteAll(db, userID: user.id)
        try KnownDevices.forgetAll(db, userID: user.id)
        try AuditLog.record(
            db, actor: actor, action: "password_set", target: user.username,
            details: JSONObjectText(["via": via]), address: address, now: now)
    }
}
