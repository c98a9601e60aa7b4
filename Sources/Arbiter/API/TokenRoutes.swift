import HTTPServer
import JSON
import Storage

/// API tokens for scripts (admins): list, create, revoke — ``TokenService`` does
/// the work. A revoked token stops working within the authenticator's 5-second cache.
struct TokenRoutes: Sendable {
    let store: ArbiterStore
    var tokens: TokenService { TokenService(store: store) }
    let now: @Sendable () -> Int64

    func register(on api: inout APIRouter) {
        api.add(.GET, "/api/tokens", .admin) { _, _ in
            .json(["tokens": .array(try await tokens.list().map(\.json))])
        }
        api.add(.POST, "/api/tokens", .admin) { request, caller in
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            if let unknown = object.keys.first(where: { $0 != "username" && $0 != "label" }) {
                throw ValidationError("\(unknown): unknown field (expected username, label)")
            }
            guard let username = object["username"]?.stringValue else { throw ValidationError("username: expected a string") }
            guard let label = object["label"].map({ $0.stringValue }) ?? "" else { throw ValidationError("label: expected a string") }
            let address = request.remoteAddress
            let now = now()
            let (id, token) = try await tokens.create(
                username: username, label: label, actor: caller.user.id, via: "api",
                address: address, now: now)
            return .json(
                ["token": ["id": .int(id), "username": .string(username), "label": .string(label), "token": .string(token)]],
                status: .created)
        }
        api.add(.DELETE, "/api/tokens/{id}", .admin) { request, caller in
            let id = try request.parameters.int("id")
            let address = request.remoteAddress
            let now = now()
            try await tokens.revoke(id: id, actor: caller.user.id, address: address, now: now)
            return .json(["revoked": .int(Int64(id))])
        }
    }
}
