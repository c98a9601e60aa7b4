import HTTPServer
import JSON
import Storage

/// Sign-in, sessions, people, invites and the audit log over HTTP: parse →
/// ``AccountService`` → render. What is HTTP stays here: the session cookie and
/// the same-site check of the routes that set it.
struct AccountRoutes: Sendable {
    let service: AccountService
    let auth: Authenticator
    /// Add `Secure` to the cookie (served over TLS).
    let secureCookies: Bool
    /// Whether people may sign in with a password (off with single sign-on only).
    var passwordSignIn = true

    static let defaultInviteHours = 72

    func register(on api: inout APIRouter) {
        let passwordSignIn = self.passwordSignIn
        api.addPublic(.POST, "/api/login") { request in
            guard passwordSignIn else {
                throw HTTPError(
                    .forbidden, code: "password_sign_in_off", message: "password sign-in is turned off here: use single sign-on")
            }
            try Self.requireJSONFromThisSite(request)
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            guard let username = object["username"]?.stringValue else {
                throw ValidationError("username: expected a string of 1 to 64 characters")
            }
            guard let password = object["password"]?.stringValue else { throw ValidationError("password: expected a string") }
            let device = Authenticator.cookie(KnownDevices.cookieName, in: request)
            return signedIn(
                try await service.signIn(username: username, password: password, address: request.remoteAddress, deviceToken: device),
                request)
        }
        api.add(.POST, "/api/logout", .everyone) { request, caller in
            if let session = caller.session {
                try await service.signOut(session: session, address: request.remoteAddress)
                if let token = Authenticator.cookie(Sessions.cookieName, in: request) { auth.forget(sessionToken: token) }
            }
            var response = Response(status: .noContent)
            response.headers.add(
                "Set-Cookie", "\(Sessions.cookieName)=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0" + (secureCookies ? "; Secure" : ""))
            return response
        }
        api.add(.GET, "/api/me", .everyone) { _, caller in
            var body: JSONObject = ["user": caller.user.json]
            if let session = caller.session { body["csrf_token"] = .string(session.csrfToken) }
            if let study = caller.session?.study {
                body["study"] = ["token": .string(study.token), "project_id": .int(Int64(study.projectID))]
            }
            return .json(.object(body))
        }
        api.add(.GET, "/api/users", .admin) { _, _ in
            .json(["users": .array(try await service.users().map(\.json))])
        }
        api.add(.PATCH, "/api/users/{id}", .admin) { request, caller in
            let id = try request.parameters.int("id")
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            if let unknown = object.keys.first(where: { $0 != "role" && $0 != "disabled" }) {
                throw ValidationError("\(unknown): unknown field (expected role, disabled)")
            }
            var role: Role?
            if let value = object["role"], value != .null {
                guard let text = value.stringValue, let parsed = Role(rawValue: text) else {
                    throw ValidationError("role: expected admin, reviewer or annotator")
                }
                role = parsed
            }
            var disabled: Bool?
            if let value = object["disabled"], value != .null {
                guard let flag = value.boolValue else { throw ValidationError("disabled: expected true or false") }
                disabled = flag
            }
            let updated = try await service.updateUser(
                id: id, role: role, disabled: disabled, actor: caller.user, address: request.remoteAddress)
            auth.forget(userID: id)
            var result = updated.json.objectValue ?? JSONObject()
            result["disabled"] = .bool(updated.disabled)
            return .json(["user": .object(result)])
        }
        api.add(.POST, "/api/invites", .admin) { request, caller in
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            guard let text = object["role"]?.stringValue, let role = Role(rawValue: text) else {
                throw ValidationError("role: expected admin, reviewer or annotator")
            }
            let lifetime = try linkLifetime(object, defaultHours: Self.defaultInviteHours)
            let (token, invite) = try await service.createInvite(
                role: role, lifetime: lifetime, actor: caller.user.id, address: request.remoteAddress)
            var json = invite.json.objectValue ?? JSONObject()
            json["token"] = .string(token)
            json["url"] = .string("/invite/\(token)")
            return .json(["invite": .object(json)], status: .created)
        }
        api.add(.GET, "/api/invites", .admin) { _, _ in
            .json(["invites": .array(try await service.invites().map(\.json))])
        }
        api.add(.DELETE, "/api/invites/{id}", .admin) { request, caller in
            try await service.revokeInvite(id: try request.parameters.int("id"), actor: caller.user.id, address: request.remoteAddress)
            return Response(status: .noContent)
        }
        // The invite page asks first, so a used link says so before the form.
        api.addPublic(.POST, "/api/invites/check") { request in
            try Self.requireJSONFromThisSite(request)
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            guard let token = object["token"]?.stringValue else { throw ValidationError("token: expected the invite token") }
            return .json(["usable": .bool(try await service.checkInvite(token: token, address: request.remoteAddress))])
        }
        api.addPublic(.POST, "/api/invites/accept") { request in
            try Self.requireJSONFromThisSite(request)
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            guard let token = object["token"]?.stringValue else { throw ValidationError("token: expected the invite token") }
            guard let username = object["username"]?.stringValue else { throw ValidationError("username: expected a string") }
            guard let password = object["password"]?.stringValue else { throw ValidationError("password: expected a string") }
            let account = try await service.acceptInvite(
                token: token, username: username, password: password, address: request.remoteAddress)
            return signedIn(account, request, status: .created)
        }
        api.add(.GET, "/api/audit", .admin) { request, _ in
            let query = request.queryItems
            var limit = 100
            if let text = query["limit"] {
                guard let value = Int(text) else { throw ValidationError("limit: 1 to 1000") }
                limit = value
            }
            var before: Int?
            if let text = query["before"] {
                guard let value = Int(text) else { throw ValidationError("before: a positive entry id") }
                before = value
            }
            return .json(["entries": .array(try await service.auditLog(limit: limit, before: before).map(\.json))])
        }
    }

    /// The signed-in answer: the user, the CSRF token and the session cookie.
    func signedIn(_ account: AccountService.SignedIn, _ request: Request, status: HTTPStatus = .ok) -> Response {
        var response = Response.json(["user": account.user.json, "csrf_token": .string(account.session.csrfToken)], status: status)
        response.headers.add("Set-Cookie", sessionCookie(account.token, for: request))
        if let device = account.deviceToken {
            // Sent only to the sign-in route; proof of this sign-in for the throttle.
            response.headers.add(
                "Set-Cookie",
                "\(KnownDevices.cookieName)=\(device); HttpOnly; SameSite=Strict; Path=/api/login; Max-Age=\(KnownDevices.lifetime / 1000)"
                    + (secureCookies || request.scheme == "https" ? "; Secure" : ""))
        }
        return response
    }

    /// Routes that set the session cookie (login CSRF): the body must be declared
    /// JSON — which a cross-site HTML form cannot send without a CORS preflight —
    /// and an `Origin`, when the browser sends one, must be this site's host.
    static func requireJSONFromThisSite(_ request: Request) throws {
        let type = request.headers["Content-Type"]?.split(separator: ";").first.map { String($0).trimmingWhitespace().lowercased() }
        guard type == "application/json" else {
            throw HTTPError(
                .unsupportedMediaType, code: "unsupported_media_type", message: "send the body as Content-Type: application/json")
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
}

/// A one-time link's lifetime in milliseconds from `expires_in_hours` (1 to 720;
/// absent or null: the default), for invites and password resets alike.
func linkLifetime(_ object: JSONObject, defaultHours: Int) throws(ValidationError) -> Int64 {
    guard let value = object["expires_in_hours"], value != .null else { return Int64(defaultHours) * 3_600_000 }
    guard let number = value.intValue, (1...24 * 30).contains(number) else { throw ValidationError("expires_in_hours: 1 to 720") }
    return number * 3_600_000
}
