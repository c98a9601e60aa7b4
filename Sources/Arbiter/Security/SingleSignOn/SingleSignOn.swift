import HTTPClient
public import JSON
public import Storage
import Synchronization
import Threads

/// Single sign-on with OpenID Connect (Core 1.0): the authorization code flow
/// with PKCE (RFC 7636, S256), the provider found through its discovery
/// document, the ID token's signature checked against the provider's JWKS (RS256,
/// with our OpenSSL), `state` bound to the browser by a cookie and used once,
/// `nonce` checked. The first sign-in links the provider's subject to a person —
/// new, or the one an admin added under that email (the only way in with
/// ``Configuration/invitedOnly``); a claim can map people to roles.
public final class SingleSignOn: Sendable {
    /// `serve --oidc-…`.
    public struct Configuration: Sendable {
        /// The issuer URL (its `/.well-known/openid-configuration` is read).
        public var issuer: String
        public var clientID: String
        public var clientSecret: String
        /// This server's URL as the provider reaches people back (`https://arbiter.example`);
        /// the redirect URI is this + `/auth/oidc/callback`. Register it with the provider.
        /// Empty: taken from each request's scheme and `Host` (tests; `serve` requires it).
        public var publicURL: String
        /// A claim (a string or a list of strings, e.g. `groups`) mapped to roles
        /// by the two lists below; without values in them, everyone is an annotator
        /// on first sign-in and roles are managed here.
        public var roleClaim = "groups"
        public var adminValues: [String] = []
        public var reviewerValues: [String] = []
        /// Only people an admin added beforehand (username = their email) may sign in.
        public var invitedOnly = false
        /// A PEM file of CA certificates to trust for the provider instead of the system's (tests).
        public var caFile: String?

        public init(issuer: String, clientID: String, clientSecret: String, publicURL: String) {
            self.issuer = issuer
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.publicURL = publicURL
        }

        /// The redirect URI: from ``publicURL``, else from the request (`origin`: `http://host:port`).
        func redirectURI(origin: String) -> String { (publicURL.isEmpty ? origin : publicURL) + "/auth/oidc/callback" }
        var mapsRoles: Bool { !adminValues.isEmpty || !reviewerValues.isEmpty }
    }

    /// What the discovery document says (only what the flow uses).
    struct Metadata: Sendable {
        var authorizationEndpoint: String
        var tokenEndpoint: String
        var jwksURI: String
    }

    /// Why a sign-in failed, for the person (shown on the sign-in page).
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    public let configuration: Configuration
    let store: ArbiterStore
    let now: @Sendable () -> Int64
    private let cache = Mutex<(metadata: Metadata?, keys: [JSONWebKey], keysFetchedAt: Int64)>((nil, [], 0))
    /// Outbound calls block: they run here, never on an event loop.
    static let network = ThreadPool(name: "oidc", threads: 2)

    public init(configuration: Configuration, store: ArbiterStore, now: @escaping @Sendable () -> Int64) {
        self.configuration = configuration
        self.store = store
        self.now = now
    }

    // MARK: Starting

    /// A new sign-in: the provider's authorization URL to send the browser to and
    /// the `state` to bind to it (the caller sets it as a cookie).
    public func start(origin: String) async throws -> (url: String, state: String) {
        let metadata = try await self.metadata()
        let state = Base64URL.encode(Digest.randomBytes(32))
        let nonce = Base64URL.encode(Digest.randomBytes(32))
        let verifier = Base64URL.encode(Digest.randomBytes(32))
        // > code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))  (RFC 7636 §4.2)
        let challenge = Base64URL.encode(Digest.sha256(verifier))
        let time = now()
        try await store.pool.write { db in
            try SingleSignOnRecords.startLogin(db, state: state, nonce: nonce, verifier: verifier, now: time)
        }
        let query = [
            ("response_type", "code"), ("client_id", configuration.clientID), ("redirect_uri", configuration.redirectURI(origin: origin)),
            ("scope", "openid email profile"), ("state", state), ("nonce", nonce), ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]
        let separator = metadata.authorizationEndpoint.contains("?") ? "&" : "?"
        return (metadata.authorizationEndpoint + separator + FormEncoding.encode(query), state)
    }

    // MARK: Finishing

    /// The provider sent the browser back with `code` and `state`; `cookieState`
    /// is the state this browser was given. Returns the person signed in.
    public func finish(code: String, state: String, cookieState: String?, origin: String) async throws -> User {
        // The state must be this browser's (no one else's sign-in finished here) …
        guard let cookieState, IDToken.constantTimeEqual(cookieState, state) else {
            throw Failure("this sign-in was not started in this browser; start again")
        }
        // … and used once (a replayed callback finds nothing).
        let time = now()
        guard let login = try await store.pool.write({ db in try SingleSignOnRecords.finishLogin(db, state: state, now: time) }) else {
            throw Failure("this sign-in has already been used or has expired; start again")
        }
        let metadata = try await self.metadata()
        let tokens = try await exchange(
            code: code, verifier: login.verifier, redirectURI: configuration.redirectURI(origin: origin), metadata: metadata)
        guard let idToken = tokens["id_token"]?.stringValue else { throw Failure("the provider sent no ID token") }
        let claims = try await verify(idToken, nonce: login.nonce)
        return try await person(claims)
    }

    /// Checks the token, fetching the provider's keys again once if its key is unknown (a rotation).
    func verify(_ token: String, nonce: String) async throws -> JSONObject {
        let (issuer, client) = (configuration.issuer, configuration.clientID)
        // The provider's clock is the wall clock, whatever clock leases run on (tests move theirs).
        let seconds = Clock.nowMilliseconds() / 1000
        var keys = try await self.keys(refresh: false)
        for attempt in 0..<2 {
            do throws(IDToken.Failure) {
                return try IDToken.verify(token, keys: keys, issuer: issuer, clientID: client, nonce: nonce, now: seconds)
            } catch .unknownKey where attempt == 0 {
                keys = try await self.keys(refresh: true)
            } catch {
                throw Failure(error.description)
            }
        }
        throw Failure(IDToken.Failure.unknownKey.description)
    }

    /// The person for verified claims: linked before, added by an admin under
    /// this email, or (unless invited-only) new; roles from the claim when mapped.
    func person(_ claims: JSONObject) async throws -> User {
        let configuration = self.configuration
        let subject = claims["sub"]?.stringValue ?? ""
        // Only an email the provider says it verified links to an existing person
        // (a provider that lets people type any email must not hand out accounts).
        let verifiedEmail = claims["email_verified"]?.boolValue == true ? claims["email"]?.stringValue : nil
        let role = Self.role(claims[configuration.roleClaim], configuration)
        let time = now()
        return try await store.pool.write { db -> User in
            var user: User?
            if let id = try SingleSignOnRecords.user(db, issuer: configuration.issuer, subject: subject) {
                user = try Users.find(db, id: id)
            } else if let email = verifiedEmail, let existing = try Users.find(db, username: email) {
                user = existing
                try SingleSignOnRecords.link(db, issuer: configuration.issuer, subject: subject, userID: existing.id, now: time)
            } else if configuration.invitedOnly {
                throw Failure("no account here for \(verifiedEmail ?? "this person (no verified email)"): ask an admin to add you")
            } else {
                let name = Self.username(email: claims["email"]?.stringValue, claims: claims)
                // Taken (by someone this subject is not): the first free `name-2`, `name-3`, ….
                var candidate = name
                var suffix = 1
                while try Users.find(db, username: candidate) != nil, suffix < 100 {
                    suffix += 1
                    candidate = String(name.prefix(58)) + "-\(suffix)"
                }
                let created = try Users.add(db, username: candidate, role: role ?? .annotator)
                try SingleSignOnRecords.link(db, issuer: configuration.issuer, subject: subject, userID: created.id, now: time)
                try AuditLog.record(
                    db, actor: created.id, action: "user_added", target: "user:\(created.id)",
                    details: JSONObjectText(["via": "oidc", "role": created.role.rawValue]), now: time)
                user = created
            }
            guard var person = user, !person.disabled else { throw Failure("this account is disabled") }
            if let role, configuration.mapsRoles, role != person.role {
                try Users.update(db, userID: person.id, role: role, disabled: nil)
                person.role = role
            }
            return person
        }
    }

    /// The role a claim maps to (nil when no mapping is configured).
    static func role(_ claim: JSONValue?, _ configuration: Configuration) -> Role? {
        guard configuration.mapsRoles else { return nil }
        let values: [String] =
            switch claim {
            case .string(let one)?: [one]
            case .array(let many)?: many.compactMap(\.stringValue)
            default: []
            }
        if values.contains(where: configuration.adminValues.contains) { return .admin }
        if values.contains(where: configuration.reviewerValues.contains) { return .reviewer }
        return .annotator
    }

    /// A username for a new person: their email, else `preferred_username`, else
    /// `sso-` and part of the subject — with characters usernames do not allow dropped.
    static func username(email: String?, claims: JSONObject) -> String {
        let raw = email ?? claims["preferred_username"]?.stringValue ?? ("sso-" + String((claims["sub"]?.stringValue ?? "").prefix(40)))
        let kept = raw.unicodeScalars.filter {
            $0.properties.isAlphabetic || $0.properties.numericType != nil || "._-@+".unicodeScalars.contains($0)
        }
        let name = String(String.UnicodeScalarView(kept).prefix(64))
        return name.isEmpty ? "sso-user" : name
    }

    // MARK: The provider

    func metadata() async throws -> Metadata {
        if let metadata = cache.withLock({ $0.metadata }) { return metadata }
        let issuer = configuration.issuer
        // > the Issuer … with /.well-known/openid-configuration appended (Discovery 1.0 §4)
        let document = try await get(
            issuer.hasSuffix("/") ? issuer + ".well-known/openid-configuration" : issuer + "/.well-known/openid-configuration")
        guard document["issuer"]?.stringValue == issuer, let authorization = document["authorization_endpoint"]?.stringValue,
            let token = document["token_endpoint"]?.stringValue, let jwks = document["jwks_uri"]?.stringValue
        else { throw Failure("the provider's discovery document is incomplete or names another issuer") }
        let metadata = Metadata(authorizationEndpoint: authorization, tokenEndpoint: token, jwksURI: jwks)
        cache.withLock { $0.metadata = metadata }
        return metadata
    }

    /// The provider's signing keys; fetched again on `refresh` at most once a minute.
    func keys(refresh: Bool) async throws -> [JSONWebKey] {
        let time = now()
        let cached = cache.withLock { $0 }
        if !cached.keys.isEmpty, !refresh || time - cached.keysFetchedAt < 60_000 { return cached.keys }
        let keys = JSONWebKey.set(try await get(try await metadata().jwksURI))
        cache.withLock {
            $0.keys = keys
            $0.keysFetchedAt = time
        }
        return keys
    }

    func get(_ url: String) async throws -> JSONValue {
        try await send(HTTPClient.Request(method: "GET", url: url, headers: [("Accept", "application/json")]))
    }

    /// > grant_type=authorization_code&code=…&redirect_uri=…  (Core §3.1.3.1), with the
    /// client's secret in HTTP Basic (`client_secret_basic`) and the PKCE verifier.
    func exchange(code: String, verifier: String, redirectURI: String, metadata: Metadata) async throws -> JSONValue {
        let body = FormEncoding.encode([
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
            ("code_verifier", verifier), ("client_id", configuration.clientID),
        ])
        let credentials = FormEncoding.escape(configuration.clientID) + ":" + FormEncoding.escape(configuration.clientSecret)
        return try await send(
            HTTPClient.Request(
                method: "POST", url: metadata.tokenEndpoint,
                headers: [
                    ("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json"),
                    ("Authorization", "Basic " + Base64.encode(Array(credentials.utf8))),
                ], body: Array(body.utf8)))
    }

    func send(_ request: HTTPClient.Request) async throws -> JSONValue {
        var request = request
        request.connectTimeout = 10
        request.idleTimeout = 10
        request.maxBodyBytes = 1024 * 1024
        request.caFile = configuration.caFile
        let sent = request
        let (head, body) = try await Self.network.run {
            do { return try HTTPClient.fetch(sent) } catch { throw Failure("the identity provider cannot be reached: \(error)") }
        }
        guard head.status == 200, let json = try? JSONValue.parse(body) else {
            // The provider's error code only (never the secret or the code we sent).
            let code = (try? JSONValue.parse(body))?["error"]?.stringValue.map { " (\($0))" } ?? ""
            throw Failure("the identity provider answered \(head.status)\(code)")
        }
        return json
    }
}

/// `application/x-www-form-urlencoded` (the URL Standard's serializer).
enum FormEncoding {
    static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "*"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }
}
