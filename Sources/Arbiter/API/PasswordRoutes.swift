import HTTPServer
import JSON
import Storage

/// Password-reset links: an admin issues one for a person (shown once, like an
/// invite); the person opens `/reset/<token>`, chooses a password and is signed
/// in; every other session of theirs ends.
struct PasswordRoutes: Sendable {
    let store: ArbiterStore
    let auth: Authenticator
    let hashing: ThreadPool
    let now: @Sendable () -> Int64
    /// The session cookie and the one-time-link throttle.
    let accounts: AccountRoutes

    static let defaultHours = 24

    func register(on api: inout APIRouter) {
        api.add(.POST, "/api/users/{id}/password-reset", .admin) { request, caller in try await create(request, caller) }
        api.addPublic(.POST, "/api/password-resets/accept") { request in try await accept(request) }
    }

    func create(_ request: Request, _ caller: Caller) async throws -> Response {
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
        let now = self.now()
        let address = request.remoteAddress
        let (token, reset, user) = try await store.pool.write { db in
            guard let user = try UserRepository.find(db, id: userID) else { throw HTTPError(.notFound, code: "not_found", message: "no such user") }
            guard !user.disabled else { throw ValidationError("user '\(user.username)' is disabled; enable them first") }
            let (token, reset) = try PasswordResets.create(db, userID: user.id, createdBy: caller.user.id, lifetime: lifetime, now: now)
            try Audit.record(db, actor: caller.user.id, action: "password_reset_created", target: user.username, address: address, now: now)
            return (token, reset, user)
        }
        return .json([
            "reset": [
                "id": .int(Int64(reset.id)), "user": userJSON(user), "token": .string(token), "url": .string("/reset/\(token)"),
                "expires_at": .string(Clock.iso8601(milliseconds: reset.expiresAt)),
            ],
        ], status: .created)
    }

    func accept(_ request: Request) async throws -> Response {
        try AccountRoutes.requireJSONFromThisSite(request)
        guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
        guard let token = object["token"]?.stringValue else { throw ValidationError("token: expected the reset token") }
        guard let password = object["password"]?.stringValue else { throw ValidationError("password: expected a string") }
        try Password.validate(password)
        let now = self.now()
        let address = request.remoteAddress
        // Throttled per address, and the link checked, before any scrypt time is spent.
        let reservation = try await accounts.reserveLinkAttempt(address: address, now: now)
        guard try await store.pool.read({ db in try PasswordResets.user(db, token: token, now: now) }) != nil else { throw PasswordResets.invalid }
        let hash = try await hashing.run { try Password.hash(password) }
        let (user, cookie, session) = try await store.pool.write { db in
            let user = try PasswordResets.use(db, token: token, now: now)
            try LoginThrottle.release(db, reservation: reservation)
            try PasswordChange.apply(db, user: user, hash: hash, actor: user.id, via: "reset_link", address: address, now: now)
            let (cookie, session) = try Sessions.create(db, userID: user.id, address: address, now: now)
            try Audit.record(db, actor: user.id, action: "login", target: user.username, address: address, now: now)
            return (user, cookie, session)
        }
        auth.forget(userID: user.id)
        var response = Response.json(["user": userJSON(user), "csrf_token": .string(session.csrfToken)])
        response.headers.add("Set-Cookie", accounts.sessionCookie(cookie, for: request))
        return response
    }
}
