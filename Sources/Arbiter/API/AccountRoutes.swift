import HTTPServer
import JSON
import Storage

/// Sign-in, sessions, people, invites and the audit log.
struct AccountRoutes: Sendable {
    let store: ArbiterStore
    let auth: Authenticator
    let hashing: ThreadPool
    let now: @Sendable () -> Int64
    /// Add `Secure` to the cookie (served over TLS).
    let secureCookies: Bool

    static let defaultInviteHours = 72

    func register(on api: inout APIRouter) {
        api.addPublic(.POST, "/api/login") { request in try await login(request) }
        api.add(.POST, "/api/logout", .everyone) { request, caller in try await logout(request, caller) }
        api.add(.GET, "/api/me", .everyone) { _, caller in
            var body: JSONObject = ["user": userJSON(caller.user)]
            if let session = caller.session { body["csrf_token"] = .string(session.csrfToken) }
            return .json(.object(body))
        }
        api.add(.GET, "/api/users", .admin) { _, _ in try await listUsers() }
        api.add(.PATCH, "/api/users/{id}", .admin) { request, caller in try await updateUser(request, caller) }
        api.add(.POST, "/api/invites", .admin) { request, caller in try await createInvite(request, caller) }
        api.add(.GET, "/api/invites", .admin) { _, _ in try await listInvites() }
        api.add(.DELETE, "/api/invites/{id}", .admin) { request, caller in try await revokeInvite(request, caller) }
        api.addPublic(.POST, "/api/invites/accept") { request in try await acceptInvite(request) }
        api.add(.GET, "/api/audit", .admin) { request, _ in try await audit(request) }
    }

    // MARK: Sessions

    func login(_ request: Request) async throws -> Response {
        try Self.requireJSONFromThisSite(request)
        let body = try await request.jsonBody()
        guard let object = body.objectValue else { throw ValidationError("body: expected a JSON object") }
        guard let username = object["username"]?.stringValue, !username.isEmpty, username.utf8.count <= 64 else {
            throw ValidationError("username: expected a string of 1 to 64 characters")
        }
        guard let password = object["password"]?.stringValue, password.utf8.count <= Password.maximumLength else {
            throw ValidationError("password: expected a string")
        }
        let address = request.remoteAddress
        let now = self.now()
        // The attempt is counted before the password is checked (one write), so at
        // most the throttle's limit of concurrent guesses ever reach scrypt.
        let verdict = try await store.pool.write { db -> LoginThrottle.Verdict in
            let verdict = try LoginThrottle.reserve(db, username: username, address: address, now: now)
            if case .throttled = verdict { try LoginThrottle.auditThrottled(db, username: username, address: address, now: now) }
            return verdict
        }
        guard case .allowed(let reservation) = verdict else {
            let wait: Int64 = if case .throttled(let retryAfter) = verdict { retryAfter } else { LoginThrottle.window }
            throw HTTPError(.tooManyRequests, code: "too_many_attempts", message: "too many failed sign-ins; try again later",
                            headers: ["Retry-After": "\((wait + 999) / 1000)"])
        }
        let credentials = try await store.pool.read { db in try UserRepository.credentials(db, username: username) }
        // Spend the same scrypt time whether or not the user exists.
        let stored = credentials?.hash ?? Password.decoy
        let matches = try await hashing.run { Password.verify(password, against: stored) }
        guard let credentials, credentials.hash != nil, matches, credentials.user.canLogIn, !credentials.user.disabled else {
            try await store.pool.write { db in
                try Audit.record(db, actor: credentials?.user.id, action: "login_failed", target: username, address: address, now: now)
            }
            throw HTTPError(.unauthorized, code: "invalid_credentials", message: "wrong username or password")
        }
        let user = credentials.user
        let (token, session) = try await store.pool.write { db in
            try LoginThrottle.release(db, reservation: reservation)
            let created = try Sessions.create(db, userID: user.id, address: address, now: now)
            try Audit.record(db, actor: user.id, action: "login", target: user.username, address: address, now: now)
            return created
        }
        var response = Response.json(["user": userJSON(user), "csrf_token": .string(session.csrfToken)])
        response.headers.add("Set-Cookie", sessionCookie(token, for: request))
        return response
    }

    func logout(_ request: Request, _ caller: Caller) async throws -> Response {
        if let session = caller.session {
            let now = self.now()
            try await store.pool.write { db in
                try Sessions.delete(db, sessionID: session.id)
                try Audit.record(db, actor: caller.user.id, action: "logout", target: caller.user.username, address: request.remoteAddress, now: now)
            }
            if let token = Authenticator.cookie(Sessions.cookieName, in: request) { auth.forget(sessionToken: token) }
        }
        var response = Response(status: .noContent)
        response.headers.add("Set-Cookie", "\(Sessions.cookieName)=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0" + (secureCookies ? "; Secure" : ""))
        return response
    }

    /// Routes that set the session cookie (login CSRF): the body must be declared
    /// JSON — which a cross-site HTML form cannot send without a CORS preflight —
    /// and an `Origin`, when the browser sends one, must be this site's host.
    static func requireJSONFromThisSite(_ request: Request) throws {
        let type = request.headers["Content-Type"]?.split(separator: ";").first.map { String($0).trimmingWhitespace().lowercased() }
        guard type == "application/json" else {
            throw HTTPError(.unsupportedMediaType, code: "unsupported_media_type", message: "send the body as Content-Type: application/json")
        }
        if let origin = request.headers["Origin"] {
            // "https://host:port" → "host:port", compared with the Host header.
            let host = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
            guard let host, host.lowercased() == request.headers["Host"]?.lowercased() else {
                throw HTTPError(.forbidden, code: "cross_origin", message: "this request must come from this site's own pages")
            }
        }
    }

    /// The session cookie; `Secure` under TLS, ours or a trusted proxy's.
    func sessionCookie(_ token: String, for request: Request) -> String {
        "\(Sessions.cookieName)=\(token); HttpOnly; SameSite=Strict; Path=/; Max-Age=\(Sessions.absoluteTimeout / 1000)"
            + (secureCookies || request.scheme == "https" ? "; Secure" : "")
    }

    // MARK: People

    func listUsers() async throws -> Response {
        let users = try await store.pool.read { db in try UserRepository.list(db) }
        return .json([
            "users": .array(users.map { entry in
                var object = userJSON(entry.user).objectValue ?? JSONObject()
                object["can_log_in"] = .bool(entry.user.canLogIn)
                object["disabled"] = .bool(entry.user.disabled)
                object["created_at"] = .string(entry.createdAt)
                object["judgements"] = .int(Int64(entry.judgements))
                object["last_seen_at"] = entry.lastSeen.map { .string(Clock.iso8601(milliseconds: $0)) } ?? .null
                return .object(object)
            })
        ])
    }

    func updateUser(_ request: Request, _ caller: Caller) async throws -> Response {
        let userID = try request.parameters.int("id")
        guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
        if let unknown = object.keys.first(where: { $0 != "role" && $0 != "disabled" }) {
            throw ValidationError("\(unknown): unknown field (expected role, disabled)")
        }
        var role: Role?
        if let value = object["role"], value != .null {
            guard let text = value.stringValue, let parsed = Role(rawValue: text) else { throw ValidationError("role: expected admin, reviewer or annotator") }
            role = parsed
        }
        var disabled: Bool?
        if let value = object["disabled"], value != .null {
            guard let flag = value.boolValue else { throw ValidationError("disabled: expected true or false") }
            disabled = flag
        }
        guard userID != caller.user.id || (role == nil || role == .admin) && disabled != true else {
            throw ValidationError("you cannot demote or disable yourself")
        }
        let now = self.now()
        let address = request.remoteAddress
        let (newRole, newDisabled) = (role, disabled)
        let updated = try await store.pool.write { db -> User in
            let role = newRole
            let disabled = newDisabled
            guard let before = try UserRepository.find(db, id: userID) else { throw HTTPError(.notFound, code: "not_found", message: "no such user") }
            try UserRepository.update(db, userID: userID, role: role, disabled: disabled)
            if let role, role != before.role {
                try Sessions.deleteAll(db, userID: userID)
                try Audit.record(db, actor: caller.user.id, action: "role_change", target: before.username,
                                 details: JSONObjectText(["from": before.role.rawValue, "to": role.rawValue]), address: address, now: now)
            }
            if let disabled, disabled != before.disabled {
                if disabled { try Sessions.deleteAll(db, userID: userID) }
                try Audit.record(db, actor: caller.user.id, action: disabled ? "user_disabled" : "user_enabled", target: before.username,
                                 address: address, now: now)
            }
            return try UserRepository.find(db, id: userID) ?? before
        }
        auth.forget(userID: userID)
        var result = userJSON(updated).objectValue ?? JSONObject()
        result["disabled"] = .bool(updated.disabled)
        return .json(["user": .object(result)])
    }

    // MARK: Invites

    func createInvite(_ request: Request, _ caller: Caller) async throws -> Response {
        guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
        guard let text = object["role"]?.stringValue, let role = Role(rawValue: text) else {
            throw ValidationError("role: expected admin, reviewer or annotator")
        }
        let lifetime = try linkLifetime(object, defaultHours: Self.defaultInviteHours)
        let now = self.now()
        let address = request.remoteAddress
        let (token, invite) = try await store.pool.write { db in
            let created = try Invites.create(db, role: role, createdBy: caller.user.id, lifetime: lifetime, now: now)
            try Audit.record(db, actor: caller.user.id, action: "invite_created", target: "invite:\(created.invite.id)",
                             details: JSONObjectText(["role": role.rawValue]), address: address, now: now)
            return created
        }
        var json = inviteJSON(invite).objectValue ?? JSONObject()
        json["token"] = .string(token)
        json["url"] = .string("/invite/\(token)")
        return .json(["invite": .object(json)], status: .created)
    }

    func listInvites() async throws -> Response {
        let invites = try await store.pool.read { db in try Invites.list(db) }
        return .json(["invites": .array(invites.map(inviteJSON))])
    }

    func revokeInvite(_ request: Request, _ caller: Caller) async throws -> Response {
        let id = try request.parameters.int("id")
        let now = self.now()
        let address = request.remoteAddress
        let revoked = try await store.pool.write { db -> Bool in
            let done = try Invites.revoke(db, id: id, now: now)
            if done { try Audit.record(db, actor: caller.user.id, action: "invite_revoked", target: "invite:\(id)", address: address, now: now) }
            return done
        }
        guard revoked else { throw HTTPError(.notFound, code: "not_found", message: "no unused invite with this id") }
        return Response(status: .noContent)
    }

    func acceptInvite(_ request: Request) async throws -> Response {
        try Self.requireJSONFromThisSite(request)
        guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
        guard let token = object["token"]?.stringValue else { throw ValidationError("token: expected the invite token") }
        guard let username = object["username"]?.stringValue else { throw ValidationError("username: expected a string") }
        guard let password = object["password"]?.stringValue else { throw ValidationError("password: expected a string") }
        try UserRepository.validateUsername(username)
        try Password.validate(password)
        let now = self.now()
        let address = request.remoteAddress
        // Throttled per address, and the token checked, before any scrypt time is spent.
        let reservation = try await reserveLinkAttempt(address: address, now: now)
        guard try await store.pool.read({ db in try Invites.isUsable(db, token: token, now: now) }) else { throw Invites.invalid }
        let hash = try await hashing.run { try Password.hash(password) }
        let (user, cookie, session) = try await store.pool.write { db in
            let user = try Invites.accept(db, token: token, username: username, passwordHash: hash, now: now)
            try LoginThrottle.release(db, reservation: reservation)
            let (cookie, session) = try Sessions.create(db, userID: user.id, address: address, now: now)
            try Audit.record(db, actor: user.id, action: "invite_accepted", target: username,
                             details: JSONObjectText(["role": user.role.rawValue]), address: address, now: now)
            return (user, cookie, session)
        }
        var response = Response.json(["user": userJSON(user), "csrf_token": .string(session.csrfToken)], status: .created)
        response.headers.add("Set-Cookie", sessionCookie(cookie, for: request))
        return response
    }

    /// Counts a one-time-link attempt from `address` (429 past the limit).
    func reserveLinkAttempt(address: String, now: Int64) async throws -> Int64 {
        let verdict = try await store.pool.write { db in try LoginThrottle.reserveLinkAttempt(db, address: address, now: now) }
        switch verdict {
        case .allowed(let reservation):
            return reservation
        case .throttled(let wait):
            throw HTTPError(.tooManyRequests, code: "too_many_attempts", message: "too many failed attempts; try again later",
                            headers: ["Retry-After": "\((wait + 999) / 1000)"])
        }
    }

    // MARK: Audit

    func audit(_ request: Request) async throws -> Response {
        let query = request.queryItems
        var limit = 100
        if let text = query["limit"] {
            guard let value = Int(text), (1...1000).contains(value) else { throw ValidationError("limit: 1 to 1000") }
            limit = value
        }
        var before: Int?
        if let text = query["before"] {
            guard let value = Int(text), value > 0 else { throw ValidationError("before: a positive entry id") }
            before = value
        }
        let (pageSize, cursor) = (limit, before)
        let entries = try await store.pool.read { db in try Audit.list(db, limit: pageSize, before: cursor) }
        return .json([
            "entries": .array(entries.map { entry in
                [
                    "id": .int(Int64(entry.id)), "at": .string(Clock.iso8601(milliseconds: entry.at)), "actor": JSONValue(entry.actor),
                    "action": .string(entry.action), "target": .string(entry.target),
                    "details": (try? JSONValue.parse(entry.details)) ?? .object(JSONObject()), "address": .string(entry.address),
                ]
            })
        ])
    }
}

/// A one-time link's lifetime in milliseconds from `expires_in_hours` (1 to 720;
/// absent or null: the default), for invites and password resets alike.
func linkLifetime(_ object: JSONObject, defaultHours: Int) throws(ValidationError) -> Int64 {
    guard let value = object["expires_in_hours"], value != .null else { return Int64(defaultHours) * 3_600_000 }
    guard let number = value.intValue, (1...24 * 30).contains(number) else { throw ValidationError("expires_in_hours: 1 to 720") }
    return number * 3_600_000
}

func userJSON(_ user: User) -> JSONValue {
    ["id": .int(Int64(user.id)), "username": .string(user.username), "role": .string(user.role.rawValue)]
}

func inviteJSON(_ invite: Invite) -> JSONValue {
    [
        "id": .int(Int64(invite.id)), "role": .string(invite.role.rawValue),
        "created_at": .string(Clock.iso8601(milliseconds: invite.createdAt)),
        "expires_at": .string(Clock.iso8601(milliseconds: invite.expiresAt)),
        "used": .bool(invite.usedAt != nil), "revoked": .bool(invite.revokedAt != nil),
    ]
}
