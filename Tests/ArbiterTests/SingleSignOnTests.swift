@testable import Arbiter
import Glibc
import JSON
import Storage
import Testing
import TestSupport

/// Single sign-on against a provider the test starts (``TestIdentityProvider``):
/// the whole code flow with PKCE over real HTTP, then what must be refused — a
/// token signed by another key, for another audience, expired, with another
/// nonce, a replayed or foreign state — roles from a claim, invited-only, and
/// password sign-in turned off.
@Suite struct SingleSignOnTests {
    struct Browser {
        let app: TestApp
        var cookies: [String: String] = [:]

        var cookieHeader: String { cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }

        mutating func keep(_ response: RawClient.Response) {
            for (name, value) in response.headers where name.lowercased() == "set-cookie" {
                let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1).map(String.init)
                if pair.count == 2 { cookies[pair[0]] = pair[1].isEmpty ? nil : pair[1] }
            }
        }

        /// GET `url` (on any 127.0.0.1 port) with this browser's cookies for the app.
        mutating func get(_ url: String) throws -> RawClient.Response {
            let rest = url.dropFirst("http://127.0.0.1:".count)
            let port = Int(rest.prefix { $0.isNumber }) ?? 0
            let path = String(rest.drop { $0.isNumber })
            let headers = port == app.port && !cookies.isEmpty ? ["Cookie": cookieHeader] : [:]
            let response = try RawClient(port: port).request("GET", path, headers: headers, host: "127.0.0.1:\(port)")
            if port == app.port { keep(response) }
            return response
        }

        /// Start → provider → callback; returns where the callback sent the browser.
        mutating func signIn(replayCallback: Bool = false) throws -> String {
            let start = try get("http://127.0.0.1:\(app.port)/auth/oidc/start")
            guard start.status == 302, let authorize = start.header("Location") else { return "no redirect: \(start.status)" }
            let approved = try get(authorize)
            guard approved.status == 302, let callback = approved.header("Location") else { return "provider said \(approved.status)" }
            let landed = try get(callback)
            if replayCallback { return try get(callback).header("Location") ?? "" }
            return landed.header("Location") ?? ""
        }

        mutating func me() throws -> JSONValue {
            let response = try RawClient(port: app.port).request("GET", "/api/me", headers: ["Cookie": cookieHeader])
            return response.status == 200 ? try JSONValue.parse(response.body) : .null
        }
    }

    static func app(
        _ provider: TestIdentityProvider, engine: TestEngine = .sqlite, password: Bool = false,
        _ configure: (inout SingleSignOn.Configuration) -> Void = { _ in }
    ) throws -> TestApp {
        try TestApp(engine: engine) { configuration in
            // No public URL: the redirect URI follows the request's host (the app's port is known only once it listens).
            var sso = SingleSignOn.Configuration(
                issuer: provider.issuer, clientID: provider.clientID, clientSecret: provider.clientSecret, publicURL: "")
            sso.adminValues = ["arbiter-admins"]
            sso.reviewerValues = ["arbiter-reviewers"]
            configure(&sso)
            configuration.singleSignOn = sso
            configuration.passwordSignIn = password
        }
    }

    @Test(arguments: TestEngine.all)
    func theCodeFlowSignsInAndEverySpoiledTokenIsRefused(engine: TestEngine) async throws {
        let provider = try TestIdentityProvider()
        let app = try Self.app(provider, engine: engine)

        // Signed in; the group claim makes an admin; the next sign-in finds the same person.
        provider.next(["sub": "u-1", "email": "ada@example.org", "email_verified": true, "groups": ["arbiter-admins"]])
        var ada = Browser(app: app)
        #expect(try ada.signIn() == "/")
        let me = try ada.me()
        #expect(me["user"]?["username"] == "ada@example.org" && me["user"]?["role"] == "admin", "\(me)")
        var again = Browser(app: app)
        #expect(try again.signIn() == "/")
        #expect(try again.me()["user"]?["id"] == me["user"]?["id"])
        #expect(try await app.count("SELECT count(*) FROM users") == 1)

        // Each spoiled token, and each misuse of the flow, is refused with its reason.
        let refusals: [(String, @Sendable (inout JSONObject) -> Void, Bool)] = [
            ("signature", { _ in }, true),
            ("another client", { $0["aud"] = "someone-else" }, false),
            ("expired", { $0["exp"] = .int(Clock.nowMilliseconds() / 1000 - 3600) }, false),
            ("nonce", { $0["nonce"] = "not-this-one" }, false),
            ("another issuer", { $0["iss"] = "https://evil.example" }, false),
        ]
        for (reason, tamper, otherKey) in refusals {
            provider.next(["sub": "u-2", "email": "mallory@example.org"], otherKey: otherKey, tamper: tamper)
            var mallory = Browser(app: app)
            let landed = try mallory.signIn()
            #expect(landed.hasPrefix("/login?sso_error=") && landed.removingPercentEncodingForTest.contains(reason), "\(reason): \(landed)")
            #expect(try mallory.me() == .null)
        }
        #expect(try await app.count("SELECT count(*) FROM users WHERE username = 'mallory@example.org'") == 0)

        // A replayed callback (the same state and code) is refused; so is a callback without this browser's state cookie.
        provider.next(["sub": "u-1", "email": "ada@example.org", "email_verified": true, "groups": ["arbiter-admins"]])
        var replay = Browser(app: app)
        let replayed = try replay.signIn(replayCallback: true)
        #expect(replayed.removingPercentEncodingForTest.contains("already been used"), "\(replayed)")
        var foreign = Browser(app: app)
        let start = try foreign.get("http://127.0.0.1:\(app.port)/auth/oidc/start")
        let authorize = try #require(start.header("Location"))
        let callback = try #require(try foreign.get(authorize).header("Location"))
        var stranger = Browser(app: app)
        let strangerLanded = try stranger.get(callback).header("Location") ?? ""
        #expect(strangerLanded.removingPercentEncodingForTest.contains("not started in this browser"), "\(strangerLanded)")

        // Password sign-in is off.
        let login = try RawClient(port: app.port).request(
            "POST", "/api/login", headers: ["Content-Type": "application/json"], body: Array(#"{"username":"x","password":"y"}"#.utf8))
        #expect(login.status == 403)
        let methods = try JSONValue.parse(try RawClient(port: app.port).request("GET", "/api/auth-methods").body)
        #expect(methods == ["password": false, "single_sign_on": true])
        await app.stop()
        await provider.stop()
    }

    @Test func serveRefusesIncompleteSingleSignOnFlags() throws {
        for (arguments, message) in [
            (["--oidc-issuer", "https://idp.example"], "go together"),
            (["--no-password-sign-in"], "needs --oidc-issuer"),
            (
                ["--oidc-issuer", "https://idp.example", "--oidc-client-id", "a", "--oidc-client-secret-env", "ARBITER_TEST_UNSET_SECRET"],
                "--public-url"
            ),
        ] {
            let run = try CommandRunner.arbiter(["serve", "--port", "0"] + arguments)
            #expect(run.status != 0)
            #expect(run.stderr.contains(message), "\(run.stderr)")
        }
    }

    @Test func invitedOnlyLetsInOnlyPeopleAnAdminAdded() async throws {
        let provider = try TestIdentityProvider()
        let app = try Self.app(provider, password: true) { $0.invitedOnly = true }
        provider.next(["sub": "u-9", "email": "grace@example.org", "email_verified": true, "groups": ["arbiter-reviewers"]])
        var grace = Browser(app: app)
        #expect(try grace.signIn().removingPercentEncodingForTest.contains("ask an admin"))
        _ = try await app.seed { db in try Users.add(db, username: "grace@example.org", role: .annotator) }
        var invited = Browser(app: app)
        #expect(try invited.signIn() == "/")
        #expect(try invited.me()["user"]?["role"] == "reviewer", "the claim's role wins")
        // An unverified email links to no one (here: refused, invited-only).
        provider.next(["sub": "u-10", "email": "grace@example.org", "email_verified": false])
        var spoof = Browser(app: app)
        #expect(try spoof.signIn().hasPrefix("/login?sso_error="))
        provider.next(["sub": "u-11", "email": "grace@example.org"])
        var unsaid = Browser(app: app)
        #expect(try unsaid.signIn().hasPrefix("/login?sso_error="), "no email_verified claim: not verified")
        await app.stop()
        await provider.stop()
    }
}

/// The sign-in page with single sign-on, in headless Chromium: the button, the
/// provider's round trip, and signed in at `/`.
@Suite(.enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
struct SingleSignOnPageTests {
    @Test func theSignInPageOffersSingleSignOnAndItSignsIn() async throws {
        let provider = try TestIdentityProvider()
        let app = try SingleSignOnTests.app(provider, password: true)
        provider.next(["sub": "u-1", "email": "ada@example.org", "groups": ["arbiter-admins"]])
        let browser = try WebDriver()
        try browser.open("http://127.0.0.1:\(app.port)/login")
        try browser.wait(until: "!document.getElementById('sso').hidden")
        if let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) { try browser.screenshot(to: shots + "/login-sso.png") }
        try browser.element("#sso-start").click()
        try browser.wait(until: "location.pathname === '/' && document.body.dataset.ready === 'true'", timeout: 20)
        let me = try browser.script("return fetch('/api/me').then(r => r.json()).then(j => j.user.username + ' ' + j.user.role);")
        #expect(me.stringValue == "ada@example.org admin")
        // A refusal comes back to the sign-in page with the reason (a second browser).
        provider.next(["sub": "u-2", "email": "eve@example.org"], tamper: { $0["aud"] = "someone-else" })
        let other = try WebDriver()
        try other.open("http://127.0.0.1:\(app.port)/auth/oidc/start")
        try other.wait(until: "location.pathname === '/login' && !document.getElementById('sso-error').hidden", timeout: 20)
        #expect(try other.element("#sso-error").text.contains("for another client"))
        await app.stop()
        await provider.stop()
    }
}
