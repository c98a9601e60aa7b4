public import Storage

/// A single-use, expiring invitation to join with a role.
public struct Invite: Sendable, Equatable {
    public var id: Int
    public var role: Role
    public var createdAt: Int64
    public var expiresAt: Int64
    public var usedAt: Int64?
    public var revokedAt: Int64?
}

public enum Invites {
    /// Creates an invite; the token (returned once) goes in the link.
    public static func create(
        _ db: any Database, role: Role, createdBy: Int, lifetime: Int64, now: Int64
    ) throws -> (token: String, invite: Invite) {
        let token = Base64URL.encode(Digest.randomBytes(32))
        let id = try db.insert(
            "INSERT INTO invites (token_hash, role, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            [.blob(Digest.sha256(token)), .text(role.rawValue), .int(Int64(createdBy)), .int(now), .int(now + lifetime)])
        return (token, Invite(id: Int(id), role: role, createdAt: now, expiresAt: now + lifetime))
    }

    public static func list(_ db: any Database) throws -> [Invite] {
        try db.query("SELECT id, role, created_at, expires_at, used_at, revoked_at FROM invites ORDER BY id DESC") { row in
            Invite(
                id: row.int(0), role: Role(rawValue: row.string(1)) ?? .annotator, createdAt: row.int64(2), expiresAt: row.int64(3),
                usedAt: row.isNull(4) ? nil : row.int64(4), revokedAt: row.isNull(5) ? nil : row.int64(5))
        }
    }

    /// Revokes an unused invite; false if there is none.
    public static func revoke(_ db: any Database, id: Int, now: Int64) throws -> Bool {
        try db.run(
            "UPDATE invites SET revoked_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL", [.int(now), .int(Int64(id))]) == 1
    }

    /// Whether a token names a usable invite (cheap: checked before scrypt).
    public static func isUsable(_ db: any Database, token: String, now: Int64) throws -> Bool {
        guard token.utf8.count < 100 else { return false }
        return try db.queryFirst(
            "SELECT 1 FROM invites WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
            [.blob(Digest.sha256(token)), .int(now)], { _ in true }) ?? false
    }

    static let invalid = ValidationError("this invite link is not valid (used, revoked or expired)")

    /// Uses an invite: creates the user with the invite's role. Throws
    /// ``ValidationError`` for a bad, used, revoked or expired token.
    public static func accept(_ db: any Database, token: String, username: String, passwordHash: String, now: Int64) throws -> User {
        guard token.utf8.count < 100,
            let invite = try db.queryFirst(
                "SELECT id, role FROM invites WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
                [.blob(Digest.sha256(token)), .int(now)], { (id: $0.int(0), role: Role(rawValue: $0.string(1)) ?? .annotator) })
        else { throw invalid }
        let user = try Users.add(db, username: username, role: invite.role)
        try db.run("UPDATE users SET password_hash = ? WHERE id = ?", [.text(passwordHash), .int(Int64(user.id))])
        try db.run("UPDATE invites SET used_at = ?, used_by = ? WHERE id = ?", [.int(now), .int(Int64(user.id)), .int(Int64(invite.id))])
        return user
    }
}
