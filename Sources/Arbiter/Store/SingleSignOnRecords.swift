public import Storage

/// `oidc_logins` and `oidc_identities` (migration 0024).
public enum SingleSignOnRecords {
    /// How long (ms) a started sign-in may take.
    public static let loginLifetime: Int64 = 600_000

    public static func startLogin(_ db: any Database, state: String, nonce: String, verifier: String, now: Int64) throws {
        try db.run("DELETE FROM oidc_logins WHERE created_at < ?", [.int(now - loginLifetime)])
        try db.run(
            "INSERT INTO oidc_logins (state_hash, nonce, verifier, created_at) VALUES (?, ?, ?, ?)",
            [.blob(Digest.sha256(state)), .text(nonce), .text(verifier), .int(now)])
    }

    /// The sign-in's nonce and verifier, once: the row is gone afterwards (nil: unknown, used or expired).
    public static func finishLogin(_ db: any Database, state: String, now: Int64) throws -> (nonce: String, verifier: String)? {
        guard state.utf8.count <= 128 else { return nil }
        return try db.queryFirst(
            "DELETE FROM oidc_logins WHERE state_hash = ? AND created_at >= ? RETURNING nonce, verifier",
            [.blob(Digest.sha256(state)), .int(now - loginLifetime)]
        ) { ($0.string(0), $0.string(1)) }
    }

    public static func user(_ db: any Database, issuer: String, subject: String) throws -> Int? {
        try db.queryFirst("SELECT user_id FROM oidc_identities WHERE issuer = ? AND subject = ?", [.text(issuer), .text(subject)]) {
            $0.int(0)
        }
    }

    public static func link(_ db: any Database, issuer: String, subject: String, userID: Int, now: Int64) throws {
        try db.run(
            "INSERT INTO oidc_identities (issuer, subject, user_id, created_at) VALUES (?, ?, ?, ?)",
            [.text(issuer), .text(subject), .int(Int64(userID)), .int(now)])
    }
}
