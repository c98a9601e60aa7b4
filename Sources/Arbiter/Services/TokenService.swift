public import Storage

/// API tokens for scripts: list, create (the token is shown once; only its
/// SHA-256 is stored), revoke — audited alike from the API and the command line.
public struct TokenService: Sendable {
    let store: ArbiterStore

    public init(store: ArbiterStore) { self.store = store }

    /// Longest label.
    static let maxLabel = 100

    /// The newest 500 tokens, without their secrets.
    public func list() async throws -> [TokenSummary] {
        try await store.pool.read { db in try Users.tokens(db, limit: 500) }
    }

    /// Creates a token for `username`; returns its id and the token (shown once).
    public static func create(
        _ db: any Database, username: String, label: String, actor: Int?, via: String, address: String = "", now: Int64
    ) throws -> (id: Int64, token: String) {
        guard label.count <= maxLabel else { throw ValidationError("label: at most \(maxLabel) characters") }
        guard let user = try Users.find(db, username: username) else { throw ServiceError.notFound("no such user") }
        guard user.canLogIn, !user.disabled else { throw ValidationError("username: the account is disabled or cannot log in") }
        return try issue(db, for: user, label: label, actor: actor, via: via, address: address, now: now)
    }

    /// Creates a token in a transaction of its own (the API's door).
    public func create(
        username: String, label: String, actor: Int, via: String, address: String, now: Int64
    )
        async throws -> (id: Int64, token: String)
    {
        try await store.pool.write { db in
            try Self.create(db, username: username, label: label, actor: actor, via: via, address: address, now: now)
        }
    }

    /// Revokes a token in a transaction of its own (the API's door).
    public func revoke(id: Int, actor: Int, address: String, now: Int64) async throws {
        try await store.pool.write { db in try Self.revoke(db, id: id, actor: actor, address: address, now: now) }
    }

    /// Creates a token for `user` (no checks: the demo and `create` call this) and audits it.
    static func issue(
        _ db: any Database, for user: User, label: String, actor: Int?, via: String, address: String = "", now: Int64
    ) throws -> (id: Int64, token: String) {
        let (id, token) = try Users.createToken(db, userID: user.id, label: label)
        try AuditLog.record(
            db, actor: actor, action: "token_created", target: "token:\(id)",
            details: JSONObjectText(["username": user.username, "label": label, "via": via]), address: address, now: now)
        return (id, token)
    }

    /// Revokes a live token; it stops working within the authenticator's cache time.
    public static func revoke(_ db: any Database, id: Int, actor: Int?, address: String = "", now: Int64) throws {
        guard try Users.revokeToken(db, id: id, now: now) else { throw ServiceError.notFound("no such live token") }
        try AuditLog.record(db, actor: actor, action: "token_revoked", target: "token:\(id)", address: address, now: now)
    }
}

/// An API token as admins see it: never the token itself.
public struct TokenSummary: Sendable, Equatable {
    public var id: Int64
    public var username: String
    public var label: String
    public var createdAt: String
    public var lastUsedAt: String?
    public var revoked: Bool
}
