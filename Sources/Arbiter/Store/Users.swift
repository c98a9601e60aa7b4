public import Storage

/// A person (or an imported rater that cannot log in).
public struct User: Sendable, Equatable {
    public var id: Int
    public var username: String
    public var role: Role
    public var canLogIn: Bool
    public var disabled: Bool
}

/// Users and API tokens in SQL.
public enum Users {
    /// A username compared without case, on the engine's index (`users_username`).
    static func byName(_ db: any Database) -> String {
        db.dialect == .sqlite ? "username = ? COLLATE NOCASE" : "lower(username) = lower(?)"
    }

    /// Adds a user; a taken name (case-insensitive) is a ``ValidationError``.
    public static func add(_ db: any Database, username: String, role: Role, canLogIn: Bool = true) throws -> User {
        try validateUsername(username)
        let id: Int64
        do {
            id = try db.insert(
                "INSERT INTO users (username, role, can_log_in) VALUES (?, ?, ?)",
                [.text(username), .text(role.rawValue), SQLValue(canLogIn)])
        } catch {
            throw error.isUniqueViolation ? ValidationError("a user named '\(username)' already exists") : error
        }
        return User(id: Int(id), username: username, role: role, canLogIn: canLogIn, disabled: false)
    }

    static func validateUsername(_ username: String) throws(ValidationError) {
        guard (1...64).contains(username.count) else { throw ValidationError("usernames are 1 to 64 characters") }
        guard
            username.unicodeScalars.allSatisfy({
                $0.properties.isAlphabetic || $0.properties.numericType != nil || "._-@+".unicodeScalars.contains($0)
            })
        else {
            throw ValidationError("usernames may contain letters, digits and . _ - @ + only")
        }
    }

    /// The user with this name (case-insensitive).
    public static func find(_ db: any Database, username: String) throws -> User? {
        try db.queryFirst("SELECT id, username, role, can_log_in, disabled FROM users WHERE \(byName(db))", [.text(username)], decode)
    }

    /// The user with this id.
    public static func find(_ db: any Database, id: Int) throws -> User? {
        try db.queryFirst("SELECT id, username, role, can_log_in, disabled FROM users WHERE id = ?", [.int(Int64(id))], decode)
    }

    /// The rater named in an imported annotation, created (unable to log in) on first sight.
    public static func rater(_ db: any Database, username: String) throws -> Int {
        if let id = try db.queryFirst("SELECT id FROM users WHERE \(byName(db))", [.text(username)], { $0.int(0) }) {
            return id
        }
        return try add(db, username: username, role: .annotator, canLogIn: false).id
    }

    /// Creates an API token for a user and returns it; only its SHA-256 is stored.
    /// Records when tokens were last used (and so their users last seen).
    static func recordTokenUses(_ db: any Database, _ uses: [(hash: [UInt8], userID: Int, at: String)]) throws {
        for use in uses {
            try db.run("UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?", [.text(use.at), .blob(use.hash)])
            try db.run(
                "UPDATE users SET last_seen_at = ? WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)",
                [.text(use.at), .int(Int64(use.userID)), .text(use.at)])
        }
    }

    /// Every user's name by id (exports name raters).
    static func usernames(_ db: any Database) throws -> [Int: String] {
        var names: [Int: String] = [:]
        _ = try db.query("SELECT id, username FROM users") { names[$0.int(0)] = $0.string(1) }
        return names
    }

    /// The newest `limit` tokens with their users.
    static func tokens(_ db: any Database, limit: Int) throws -> [TokenSummary] {
        try db.query(
            """
            SELECT t.id, u.username, t.label, t.created_at, t.last_used_at, t.revoked_at FROM api_tokens t
            JOIN users u ON u.id = t.user_id ORDER BY t.id DESC LIMIT ?
            """, [.int(Int64(limit))]
        ) { row in
            TokenSummary(
                id: row.int64(0), username: row.string(1), label: row.string(2), createdAt: row.string(3),
                lastUsedAt: row.optionalString(4), revoked: row.optionalString(5) != nil)
        }
    }

    /// Marks a live token revoked; false when there is no such live token.
    static func revokeToken(_ db: any Database, id: Int, now: Int64) throws -> Bool {
        try db.run(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            [.text(Clock.iso8601(milliseconds: now)), .int(Int64(id))]) == 1
    }

    public static func createToken(_ db: any Database, userID: Int, label: String = "") throws -> (id: Int64, token: String) {
        let token = "arb_" + Base64URL.encode(Digest.randomBytes(32))
        let id = try db.insert(
            "INSERT INTO api_tokens (user_id, token_hash, label) VALUES (?, ?, ?)",
            [.int(Int64(userID)), .blob(Digest.sha256(token)), .text(label)])
        return (id, token)
    }

    /// The enabled user a token belongs to, or nil.
    public static func authenticate(_ db: any Database, token: String) throws -> User? {
        guard token.hasPrefix("arb_"), token.utf8.count < 100 else { return nil }
        return try db.queryFirst(
            """
            SELECT u.id, u.username, u.role, u.can_log_in, u.disabled FROM api_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.disabled = 0
            """, [.blob(Digest.sha256(token))], decode)
    }

    static func decode(_ row: any Row) -> User {
        User(
            id: row.int(0), username: row.string(1), role: Role(rawValue: row.string(2)) ?? .annotator, canLogIn: row.bool(3),
            disabled: row.bool(4))
    }
}

/// base64url without padding (RFC 4648 §5).
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out += [
                alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)], alphabet[Int(value & 63)],
            ]
            index += 3
        }
        let rest = bytes.count - index
        if rest == 1 {
            let value = UInt32(bytes[index]) << 16
            out += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)]]
        } else if rest == 2 {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            out += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)]]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Users {
    /// Sets (or replaces) a user's password hash.
    public static func setPasswordHash(_ db: any Database, userID: Int, hash: String) throws {
        try db.run("UPDATE users SET password_hash = ?, can_log_in = 1 WHERE id = ?", [.text(hash), .int(Int64(userID))])
    }

    /// The user and stored hash for a login attempt (nil if no such user).
    public static func credentials(_ db: any Database, username: String) throws -> (user: User, hash: String?)? {
        try db.queryFirst(
            "SELECT id, username, role, can_log_in, disabled, password_hash FROM users WHERE \(byName(db))",
            [.text(username)]
        ) { (decode($0), $0.optionalString(5)) }
    }

    /// Every user, for the admin's people list.
    public static func list(_ db: any Database) throws -> [UserSummary] {
        try db.query(
            """
            SELECT u.id, u.username, u.role, u.can_log_in, u.disabled, u.created_at,
                   (SELECT count(*) FROM annotations n WHERE n.user_id = u.id),
                   (SELECT max(last_seen_at) FROM sessions s WHERE s.user_id = u.id),
                   u.last_seen_at
            FROM users u ORDER BY u.id
            """
        ) { row in
            // Seen in the browser (sessions) or through an API token (users.last_seen_at).
            let bySession = row.isNull(7) ? nil : row.int64(7)
            let byToken = row.optionalString(8).flatMap(Clock.parseISO8601)
            return UserSummary(
                user: decode(row), createdAt: row.string(5), judgements: row.int(6),
                lastSeen: [bySession, byToken].compactMap { $0 }.max())
        }
    }

    /// Changes role and/or the disabled flag.
    public static func update(_ db: any Database, userID: Int, role: Role?, disabled: Bool?) throws {
        if let role { try db.run("UPDATE users SET role = ? WHERE id = ?", [.text(role.rawValue), .int(Int64(userID))]) }
        if let disabled { try db.run("UPDATE users SET disabled = ? WHERE id = ?", [SQLValue(disabled), .int(Int64(userID))]) }
    }
}

/// A person in the admins' list.
public struct UserSummary: Sendable {
    public var user: User
    public var createdAt: String
    /// Judgements made, in every project.
    public var judgements: Int
    /// Unix milliseconds of the latest request (browser session or API token).
    public var lastSeen: Int64?
}
