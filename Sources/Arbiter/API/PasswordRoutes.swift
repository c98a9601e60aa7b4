import HTTPServer
import JSON
import Storage

/// Password-reset links over HTTP: an admin issues one for a person (shown once,
/// like an invite); the person opens `/reset/<token>`, chooses a password and is
/// signed in; every other session of theirs ends. The work is ``AccountService``'s.
struct PasswordRoutes: Sendable {
    let service: AccountService
    let auth: Authenticator
    /// The session cookie.
    let accounts: AccountRoutes

    static let defaultHours = 24

    func register(on api: inout APIRouter) {
        api.add(.POST, "/api/users/{id}/password-reset", .admin) { request, caller in
            let userID = try request.parameters.int("id")
            var object = JSONObject()
            if !request.body.isEmpty {
                guard let body = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
                if let unknown = body.keys.first(where: { $0 != "expires_in_hours" }) {
                    throw ValidationError("\(unknown): unknown field (expected expires_in_hours)")
                }
                object = body
            }
            let lifetime = try linkLifetime(object, defaultHours: Self.defaultHours)
            let (token, reset, user) = try await service.createPasswordReset(
                userID: userID, lifetime: lifetime, actor: caller.user.id, address: request.remoteAddress)
            return .json(
                [
                    "reset": [
                        "id": .int(Int64(reset.id)), "user": user.json, "token": .string(token), "url": .string("/reset/\(token)"),
                        "expires_at": .string(Clock.iso8601(milliseconds: reset.expiresAt)),
                    ]
                ], status: .created)
        }
        api.addPublic(.POST, "/api/password-resets/accept") { request in
            try AccountRoutes.requireJSONFromThisSite(request)
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            guard let token = object["token"]?.stringValue else { throw ValidationError("token: expected the reset token") }
            guard let password = object["password"]?.stringValue else { throw ValidationError("password: expected a string") }
            let account = try await service.acceptPasswordReset(token: token, password: password, address: request.remoteAddress)
            auth.forget(userID: account.user.id)
            return accounts.signedIn(account, request)
        }
    }
}
