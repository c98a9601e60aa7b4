import HTTPServer
import JSON
import Storage

/// API tokens for scripts (admins): list, create (the token is shown once; only
/// its SHA-256 is stored), revoke. A revoked token stops working within the
/// authenticator's 5-second cache.
struct TokenRoutes: Sendable {
    let store: ArbiterStore
    let now: @Sendable () -> Int64

    func register(on api: inout APIRouter) {
        api.add(.GET, "/api/tokens", .admin) { _, _ in
            let tokens = try await store.pool.read { db in
                try db.query(
                    """
                    SELECT t.id, u.username, t.label, t.created_at, t.last_used_at, t.revoked_at FROM api_tokens t
                    JOIN users u ON u.id = t.user_id ORDER BY t.id DESC LIMIT 500
                    """) { row -> JSONValue in
                    [
                        "id": .int(row.int64(0)), "username": .string(row.string(1)), "label": .string(row.string(2)),
                        "created_at": .string(row.string(3)), "last_used_at": row.optionalString(4).map(JSONValue.string) ?? .null,
                        "revoked": .bool(row.optionalString(5) != nil),
                    ]
                }
            }
            return .json(["tokens": .array(tokens)])
        }
        api.add(.POST, "/api/tokens", .admin) { request, caller in
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            if let unknown = object.keys.first(where: { $0 != "username" && $0 != "label" }) {
                throw ValidationError("\(unknown): unknown field (expected username, label)")
            }
            guard let username = object["username"]?.stringValue else { throw ValidationError("username: expected a string") }
            let label = object["label"]?.stringValue ?? ""
            guard label.count <= 100 else { throw ValidationError("label: at most 100 characters") }
            let address = request.remoteAddress
            let now = now()
            let (id, token) = try await store.pool.write { db -> (Int64, String) in
                guard let user = try UserRepository.find(db, username: username) else {
                    throw HTTPError(.notFound, code: "not_found", message: "no such user")
                }
                guard !user.disabled else { throw ValidationError("username: the account is disabled") }
                return try Creation.token(db, for: user, label: label, actor: caller.user.id, via: "api", address: address, now: now)
            }
            return .json(["token": ["id": .int(id), "username": .string(username), "label": .string(label), "token": .string(token)]], status: .created)
        }
        api.add(.DELETE, "/api/tokens/{id}", .admin) { request, caller in
            let id = try request.parameters.int("id")
            let address = request.remoteAddress
            let now = now()
            try await store.pool.write { db in
                let changed = try db.run(
                    "UPDATE api_tokens SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ? AND revoked_at IS NULL",
                    [.int(Int64(id))])
                guard changed == 1 else { throw HTTPError(.notFound, code: "not_found", message: "no such live token") }
                try Audit.record(db, actor: caller.user.id, action: "token_revoked", target: "token:\(id)", address: address, now: now)
            }
            return .json(["revoked": .int(Int64(id))])
        }
    }
}
