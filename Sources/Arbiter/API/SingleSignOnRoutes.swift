import HTTPServer
import JSON
import Storage

/// Single sign-on over HTTP: `GET /auth/oidc/start` sends the browser to the
/// provider (with the sign-in's `state` in a cookie), `GET /auth/oidc/callback`
/// comes back, checks everything (``SingleSignOn``) and signs the person in; a
/// refusal goes to the sign-in page with the reason. `GET /api/auth-methods`
/// tells the sign-in page what to offer.
struct SingleSignOnRoutes: Sendable {
    let singleSignOn: SingleSignOn?
    let passwordSignIn: Bool
    let store: ArbiterStore
    let accounts: AccountRoutes
    let now: @Sendable () -> Int64

    static let stateCookie = "arbiter_oidc"

    func register(on api: inout APIRouter) {
        let methods: JSONValue = ["password": .bool(passwordSignIn), "single_sign_on": .bool(singleSignOn != nil)]
        api.addPublic(.GET, "/api/auth-methods") { _ in .json(methods) }
        guard let singleSignOn else { return }
        api.router.add(.GET, "/auth/oidc/start", maxBodyBytes: 0) { request in
            do {
                let (url, state) = try await singleSignOn.start(origin: Self.origin(request))
                var response = Response(status: .found)
                response.headers.add("Location", url)
                // Lax, not Strict: the provider sends the browser back with a cross-site navigation.
                response.headers.add(
                    "Set-Cookie", "\(Self.stateCookie)=\(state); HttpOnly; SameSite=Lax; Path=/auth/oidc; Max-Age=600" + secure(request))
                return response
            } catch let failure as SingleSignOn.Failure {
                return refused(failure.description)
            }
        }
        api.router.add(.GET, "/auth/oidc/callback", maxBodyBytes: 0) { request in
            let query = request.queryItems
            do {
                if let error = query["error"] {
                    throw SingleSignOn.Failure("the identity provider refused: \(String(error.prefix(100)))")
                }
                guard let code = query["code"], let state = query["state"], code.utf8.count <= 4096 else {
                    throw SingleSignOn.Failure("the identity provider sent no code")
                }
                let user = try await singleSignOn.finish(
                    code: code, state: state, cookieState: Authenticator.cookie(Self.stateCookie, in: request), origin: Self.origin(request)
                )
                let (address, time) = (request.remoteAddress, now())
                let token = try await store.pool.write { db -> String in
                    let (token, _) = try Sessions.create(db, userID: user.id, address: address, now: time)
                    try AuditLog.record(
                        db, actor: user.id, action: "signed_in", target: "user:\(user.id)", details: JSONObjectText(["via": "oidc"]),
                        address: address, now: time)
                    return token
                }
                var response = Response(status: .found)
                response.headers.add("Location", "/")
                response.headers.add("Set-Cookie", accounts.sessionCookie(token, for: request))
                response.headers.add(
                    "Set-Cookie", "\(Self.stateCookie)=; HttpOnly; SameSite=Lax; Path=/auth/oidc; Max-Age=0" + secure(request))
                return response
            } catch let failure as SingleSignOn.Failure {
                return refused(failure.description)
            }
        }
    }

    /// `scheme://host` of the request (used only without `--public-url`).
    static func origin(_ request: Request) -> String {
        let host = request.headers["Host"] ?? "localhost"
        let safe = host.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == ":" || $0 == "-" || $0 == "[" || $0 == "]" }
        return "\(request.scheme)://\(safe ? host : "localhost")"
    }

    func secure(_ request: Request) -> String { accounts.secureCookies || request.scheme == "https" ? "; Secure" : "" }

    /// Back to the sign-in page, which shows why.
    func refused(_ reason: String) -> Response {
        var response = Response(status: .found)
        response.headers.add("Location", "/login?sso_error=" + FormEncoding.escape(reason))
        return response
    }
}
