public import Storage
import JSON

/// A signed-in browser session.
public struct Session: Sendable, Equatable {
    public var id: Int
    public var user: User
    public var csrfToken: String
    public var lastSeenAt: Int64
    public var expiresAt: Int64
    /// A study participant's session: it reaches only this study's project.
    public var study: StudyScope? = nil
}

/// What a study participant's session may reach.
public struct StudyScope: Sendable, Equatable {
    public var studyID: Int
    public var projectID: Int
    public var token: String
}

/// Browser sessions: a 256-bit random cookie token, stored as SHA-256, with a
/// 12-hour idle and 7-day absolute expiry, and a CSRF token.
public enum Sessions {
    public static let cookieName = "arbiter_session"
    public static let idleTimeout: Int64 = 12 * 3600 * 1000
    public static let absoluteTimeout: Int64 = 7 * 24 * 3600 * 1000

    /// Starts a session; returns the cookie token (never stored) and the session.
    public static func create(
        _ db: any Database, userID: Int, address: String, now: Int64, study: StudyScope? = nil
    ) throws -> (token: String, session: Session) {
        let token = Base64URL.encode(Digest.randomBytes(32))
        let csrf = Base64URL.encode(Digest.randomBytes(32))
        let id = try db.insert(
            """
            INSERT INTO sessions (user_id, token_hash, csrf_token, created_at, last_seen_at, expires_at, address, study_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .int(Int64(userID)), .blob(Digest.sha256(token)), .text(csrf), .int(now), .int(now), .int(now + absoluteTimeout),
                .text(address), study.map { .int(Int64($0.studyID)) } ?? .null,
            ])
        guard let user = try Users.find(db, id: userID) else { throw ValidationError("no such user") }
        return (token, Session(id: Int(id), user: user, csrfToken: csrf, lastSeenAt: now, expiresAt: now + absoluteTimeout, study: study))
    }

    /// The live session for a cookie token (user enabled, not idle, not expired).
    public static func find(_ db: any Database, token: String, now: Int64) throws -> Session? {
        guard token.utf8.count < 100 else { return nil }
        return try db.queryFirst(
            """
            SELECT s.id, s.csrf_token, s.last_seen_at, s.expires_at, u.id, u.username, u.role, u.can_log_in, u.disabled,
                   st.id, st.project_id, st.token
            FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN studies st ON st.id = s.study_id
            WHERE s.token_hash = ? AND s.expires_at > ? AND s.last_seen_at > ? AND u.disabled = 0 AND u.can_log_in = 1
            """, [.blob(Digest.sha256(token)), .int(now), .int(now - idleTimeout)]
        ) { row in
            Session(
                id: row.int(0),
                user: User(
                    id: row.int(4), username: row.string(5), role: Role(rawValue: row.string(6)) ?? .annotator,
                    canLogIn: row.bool(7), disabled: row.bool(8)),
                csrfToken: row.string(1), lastSeenAt: row.int64(2), expiresAt: row.int64(3),
                study: row.isNull(9) ? nil : StudyScope(studyID: row.int(9), projectID: row.int(10), token: row.string(11)))
        }
    }

    /// Records activity (keeps the idle clock running).
    public static func touch(_ db: any Database, sessionID: Int, now: Int64) throws {
        try db.run("UPDATE sessions SET last_seen_at = ? WHERE id = ?", [.int(now), .int(Int64(sessionID))])
    }

    /// Ends a session.
    public static func delete(_ db: any Database, sessionID: Int) throws {
        try db.run("DELETE FROM sessions WHERE id = ?", [.int(Int64(sessionID))])
    }

    /// Ends every session of a user (disabled, role changed).
    public static func deleteAll(_ db: any Database, userID: Int) throws {
        try db.run("DELETE FROM sessions WHERE user_id = ?", [.int(Int64(userID))])
    }
}
