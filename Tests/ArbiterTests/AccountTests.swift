@testable import Arbiter
import Glibc
import HTTPServer
import JSON
import Storage
import Synchronization
import Testing
import TestSupport

@Suite struct PasswordTests {
    @Test func scryptMatchesRFC7914() throws {
        // RFC 7914 §12: scrypt(P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64);
        // PBKDF2 output blocks are independent, so 32 bytes are its first half.
        let key = try Password.derive("password", salt: Array("NaCl".utf8), n: 1024, r: 8, p: 16)
        #expect(Digest.hex(key) == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162")
    }

    @Test func hashesVerifyAndAreSalted() throws {
        let one = try Password.hash("correct horse battery")
        let two = try Password.hash("correct horse battery")
        #expect(one != two)
        #expect(one.hasPrefix("scrypt$32768$8$1$"))
        #expect(Password.verify("correct horse battery", against: one))
        #expect(!Password.verify("correct horse batterz", against: one))
        #expect(!Password.verify("correct horse battery", against: one.tamperingWithHash()))
        #expect(!Password.verify("x", against: "scrypt$1$1$1$$"))
        #expect(!Password.verify("x", against: "plain"))
        #expect(throws: ValidationError.self) { try Password.validate("short") }
    }
}

extension String {
    /// Changes one character in the middle of the stored hash: all six of its
    /// bits are data (the last base64 character of 32 bytes carries padding bits,
    /// so changing it may change nothing).
    func tamperingWithHash() -> String {
        var parts = split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        var hash = Array(parts[5])
        hash[10] = hash[10] == "A" ? "g" : "A"
        parts[5] = String(hash)
        return parts.joined(separator: "$")
    }
}

extension TestApp {
    /// A user who can sign in with a password.
    func person(_ name: String, role: Role = .annotator, password: String = "a long enough password") async throws -> Int {
        let hash = try Password.hash(password)
        return try await seed { db in
            let user = try Users.add(db, username: name, role: role)
            try Users.setPasswordHash(db, userID: user.id, hash: hash)
            return user.id
        }
    }

    /// Signs in; returns the response.
    func login(_ name: String, password: String = "a long enough password", client: RawClient? = nil) throws -> RawClient.Response {
        try (client ?? self.client()).request(
            "POST", "/api/login", headers: ["Content-Type": "application/json"],
            body: JSONValue.object(["username": .string(name), "password": .string(password)]).serialized())
    }
}

extension RawClient.Response {
    /// The session cookie's `name=value` from Set-Cookie.
    var sessionCookie: String? {
        header("set-cookie")?.split(separator: ";").first.map(String.init)
    }
}

@Suite struct SessionTests {
    @Test(arguments: TestEngine.all)
    func loginSetsAStrictCookieAndCSRFGuardsWrites(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        _ = try await app.person("ann")
        let login = try app.login("ann")
        #expect(login.status == 200)
        let setCookie = try #require(login.header("set-cookie"))
        #expect(setCookie.hasPrefix("arbiter_session="))
        #expect(setCookie.contains("; HttpOnly") && setCookie.contains("; SameSite=Strict") && setCookie.contains("; Path=/"))
        #expect(!setCookie.contains("Secure"), "plain HTTP here; TLS adds Secure")
        let cookie = try #require(login.sessionCookie)
        #expect(cookie.count > 40)
        let csrf = try #require(JSONValue.parse(login.body)["csrf_token"]?.stringValue)

        let client = try app.client()
        let me = try client.request("GET", "/api/me", headers: ["Cookie": cookie])
        #expect(me.status == 200)
        #expect(try JSONValue.parse(me.body)["user"]?["username"] == "ann")
        #expect(try JSONValue.parse(me.body)["csrf_token"]?.stringValue == csrf)

        // A state-changing request by cookie needs the CSRF token.
        let forged = try client.request("POST", "/api/logout", headers: ["Cookie": cookie])
        #expect(forged.status == 403)
        #expect(forged.bodyText.contains("csrf"))
        let wrong = try client.request("POST", "/api/logout", headers: ["Cookie": cookie, "X-CSRF-Token": String(csrf.reversed())])
        #expect(wrong.status == 403)
        let out = try client.request("POST", "/api/logout", headers: ["Cookie": cookie, "X-CSRF-Token": csrf])
        #expect(out.status == 204)
        #expect(out.header("set-cookie")?.contains("Max-Age=0") == true)
        #expect(try client.request("GET", "/api/me", headers: ["Cookie": cookie]).status == 401, "the session is gone")
        await app.stop()
    }

    /// Login CSRF: the cookie-setting routes take only declared JSON, and only from
    /// this site when the browser says where the request comes from.
    @Test(arguments: TestEngine.all)
    func cookieSettingRoutesRefuseFormsAndOtherSites(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        _ = try await app.person("ann")
        let body = JSONValue.object(["username": "ann", "password": "a long enough password"]).serialized()
        for path in ["/api/login", "/api/invites/accept", "/api/password-resets/accept"] {
            for headers in [[:], ["Content-Type": "text/plain"], ["Content-Type": "application/x-www-form-urlencoded"]] {
                let response = try app.client().request("POST", path, headers: headers, body: body)
                #expect(response.status == 415 && response.bodyText.contains("application/json"), "\(path) \(headers): \(response)")
            }
            let crossSite = try app.client().request(
                "POST", path, headers: ["Content-Type": "application/json", "Origin": "https://evil.example"], body: body)
            #expect(crossSite.status == 403 && crossSite.bodyText.contains("cross_origin"), "\(path)")
        }
        let sameSite = try app.client().request(
            "POST", "/api/login", headers: ["Content-Type": "application/json; charset=utf-8", "Origin": "http://test"], body: body)
        #expect(sameSite.status == 200, "\(sameSite)")
        #expect(try await app.count("SELECT count(*) FROM login_failures") == 0, "refused before counting or checking")
        await app.stop()
    }

    /// Behind a trusted proxy the forwarded client is the one throttled and audited,
    /// and a forwarded https gets a Secure cookie; from anyone else the headers are ignored.
    @Test func aTrustedProxyNamesTheClient() async throws {
        let app = try TestApp { $0.http.trustedProxies = [try! IPRange("127.0.0.1/32")] }
        _ = try await app.person("ann")
        func login(_ password: String, from client: String, proto: String = "http") throws -> RawClient.Response {
            try app.client().request(
                "POST", "/api/login",
                headers: ["Content-Type": "application/json", "X-Forwarded-For": "6.6.6.6, \(client)", "X-Forwarded-Proto": proto],
                body: JSONValue.object(["username": "ann", "password": .string(password)]).serialized())
        }
        for _ in 0..<5 { _ = try login("wrong password here", from: "203.0.113.7") }
        #expect(try login("a long enough password", from: "203.0.113.7").status == 429, "that client is throttled")
        let elsewhere = try login("a long enough password", from: "198.51.100.1", proto: "https")
        #expect(elsewhere.status == 200, "another client behind the same proxy is not")
        #expect(elsewhere.header("set-cookie")?.contains("; Secure") == true)
        let addresses = try await app.seed { db in
            try db.query(
                "SELECT DISTINCT address FROM audit_log WHERE action IN ('login', 'login_failed', 'login_throttled') ORDER BY address"
            ) { $0.string(0) }
        }
        #expect(addresses == ["198.51.100.1", "203.0.113.7"])
        await app.stop()

        // Without --trusted-proxy the same headers change nothing.
        let plain = try TestApp()
        _ = try await plain.person("ann")
        _ = try plain.client().request(
            "POST", "/api/login",
            headers: ["Content-Type": "application/json", "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"],
            body: JSONValue.object(["username": "ann", "password": "a long enough password"]).serialized())
        #expect(
            try await plain.seed { db in try db.queryFirst("SELECT address FROM audit_log WHERE action = 'login'") { $0.string(0) } }
                == "127.0.0.1")
        await plain.stop()
    }

    @Test(arguments: TestEngine.all)
    func everyLoginGetsANewToken(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        _ = try await app.person("ann")
        let one = try app.login("ann").sessionCookie
        let two = try app.login("ann").sessionCookie
        #expect(one != nil && two != nil && one != two)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func sessionsExpireWhenIdleAndAbsolutely(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        _ = try await app.person("ann")
        let idle = try #require(app.login("ann").sessionCookie)
        app.clock.advance(seconds: 12 * 3600 + 60)
        #expect(try app.client().request("GET", "/api/me", headers: ["Cookie": idle]).status == 401)

        let busy = try #require(app.login("ann").sessionCookie)
        for step in 1...16 {  // active every 11 hours: the idle limit never passes, 7 days do
            app.clock.advance(seconds: 11 * 3600)
            let status = try app.client().request("GET", "/api/me", headers: ["Cookie": busy]).status
            #expect(status == (step * 11 < 7 * 24 ? 200 : 401), "after \(step * 11) hours")
        }
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func failuresLookTheSameAndAreThrottled(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        _ = try await app.person("ann")
        let unknown = try app.login("nobody")
        let wrong = try app.login("ann", password: "not the password at all")
        #expect(unknown.status == 401 && wrong.status == 401)
        #expect(unknown.bodyText == wrong.bodyText, "the answer never tells whether a user exists")
        for _ in 0..<4 { _ = try app.login("ann", password: "still not the password") }
        let throttled = try app.login("ann")
        #expect(throttled.status == 429, "5 failures for ann from here: even the right password waits")
        let retry = try #require(throttled.header("retry-after").flatMap(Int.init))
        #expect(retry > 0 && retry <= 900)
        app.clock.advance(seconds: 15 * 60 + 1)
        #expect(try app.login("ann").status == 200)
        let failures = try await app.count("SELECT count(*) FROM audit_log WHERE action = 'login_failed'")
        #expect(failures == 6)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func throttlingAlsoCountsPerAddress(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        _ = try await app.person("zed")
        for index in 0..<20 { _ = try app.login("user\(index)") }
        #expect(try app.login("zed").status == 429, "20 failures from this address, whatever the names")
        await app.stop()
    }

    /// 30 wrong passwords at once for one user from one address: only 5 reach scrypt
    /// (the rest are refused before it), and the refusals are one audit row.
    @Test(arguments: TestEngine.all)
    func concurrentGuessesAreCountedBeforeThePasswordCheck(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        _ = try await app.person("ann")
        let statuses = Mutex<[Int]>([])
        let port = app.port
        Threads.run(30) { _ in
            let client = try? RawClient(port: port)
            let status =
                (try? client?.request(
                    "POST", "/api/login", headers: ["Content-Type": "application/json"],
                    body: Array(#"{"username":"ann","password":"wrong password guess"}"#.utf8)
                ).status) ?? 0
            statuses.withLock { $0.append(status) }
        }
        let seen = statuses.withLock { $0 }
        #expect(seen.filter { $0 == 401 }.count == 5, "\(seen)")
        #expect(seen.filter { $0 == 429 }.count == 25)
        #expect(try await app.count("SELECT count(*) FROM audit_log WHERE action = 'login_failed'") == 5)
        #expect(try await app.count("SELECT count(*) FROM audit_log WHERE action = 'login_throttled'") == 1)
        let details = try await app.seed { db in
            try db.queryFirst("SELECT details FROM audit_log WHERE action = 'login_throttled'") { $0.string(0) }
        }
        #expect(details == #"{"attempts":"25"}"#)
        await app.stop()
    }

    /// Failing on purpose from one address does not lock the owner out from another;
    /// only far more failures, from anywhere, lock the name itself.
    @Test(arguments: TestEngine.all)
    func theOwnerCanStillSignInFromElsewhere(engine: TestEngine) throws {
        let test = try TestDatabase(engine: engine)
        let now: Int64 = 1_800_000_000_000
        for _ in 0..<5 {
            guard case .allowed = try LoginThrottle.reserve(test.db, username: "Ann", address: "203.0.113.9", now: now) else {
                Issue.record("refused early"); return
            }
        }
        #expect(try LoginThrottle.reserve(test.db, username: "ann", address: "203.0.113.9", now: now) != .allowed(reservation: 0))
        guard case .throttled = try LoginThrottle.reserve(test.db, username: "ann", address: "203.0.113.9", now: now) else {
            Issue.record("the attacker's address is throttled"); return
        }
        guard case .allowed(let reservation) = try LoginThrottle.reserve(test.db, username: "ann", address: "198.51.100.7", now: now) else {
            Issue.record("the owner, elsewhere, may try"); return
        }
        try LoginThrottle.release(test.db, reservation: reservation)
        // 100 failures for the name from many addresses lock it everywhere.
        for index in 0..<95 { _ = try LoginThrottle.reserve(test.db, username: "ann", address: "192.0.2.\(index % 20)", now: now + 1) }
        guard case .throttled(let wait) = try LoginThrottle.reserve(test.db, username: "ann", address: "198.51.100.7", now: now + 2) else {
            Issue.record("a distributed guess locks the name"); return
        }
        #expect(wait > 0 && wait <= LoginThrottle.window)
        #expect(try test.count("SELECT count(*) FROM login_failures WHERE username = 'ann'") == 100)
    }

    /// 100 failures for ann from 20 addresses (5 each): the owner, from a fresh
    /// address but in a browser that signed in as ann before, still gets in; a
    /// stranger's browser does not; the device has a small limit of its own.
    @Test(arguments: TestEngine.all)
    func strangersCannotLockTheOwnerOutOfTheirBrowser(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine) { $0.http.trustedProxies = [try! IPRange("127.0.0.1/32")] }
        _ = try await app.person("ann")
        func login(_ password: String, from client: String, cookie: String? = nil) throws -> RawClient.Response {
            var headers = ["Content-Type": "application/json", "X-Forwarded-For": client]
            if let cookie { headers["Cookie"] = cookie }
            return try app.client().request(
                "POST", "/api/login", headers: headers,
                body: JSONValue.object(["username": "ann", "password": .string(password)]).serialized())
        }
        let first = try login("a long enough password", from: "198.51.100.1")
        #expect(first.status == 200)
        let setCookie = try #require(
            first.headers.first { $0.name.lowercased() == "set-cookie" && $0.value.hasPrefix("arbiter_device=") }?.value)
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("Path=/api/login"))
        let device = String(setCookie.prefix { $0 != ";" })

        for address in 0..<20 {
            for _ in 0..<5 { #expect(try login("a wrong password, guessed", from: "192.0.2.\(address)").status == 401) }
        }
        #expect(try login("a long enough password", from: "203.0.113.50").status == 429, "an unknown browser waits out the window")
        let owner = try login("a long enough password", from: "203.0.113.51", cookie: device)
        #expect(owner.status == 200, "the owner's browser gets in: \(owner)")
        #expect(!owner.headers.contains { $0.value.hasPrefix("arbiter_device=") }, "a known device keeps its cookie")

        // A stolen device cookie is no free pass: it has 10 attempts of its own.
        var statuses: [Int] = []
        for _ in 0..<11 { statuses.append(try login("another wrong password", from: "203.0.113.52", cookie: device).status) }
        #expect(statuses.prefix(10).allSatisfy { $0 == 401 } && statuses.last == 429, "\(statuses)")
        #expect(try login("a long enough password", from: "203.0.113.53", cookie: "arbiter_device=forged").status == 429)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func disabledUsersCannotSignInOrUseTokens(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let id = try await app.person("ann")
        let token = try await app.seed { db in try Users.createToken(db, userID: id).token }
        let admin = try await app.user("boss", role: .admin)
        let patch = try app.client().request(
            "PATCH", "/api/users/\(id)", headers: ["Authorization": "Bearer \(admin)"], body: Array(#"{"disabled":true}"#.utf8))
        #expect(patch.status == 200)
        #expect(try app.login("ann").status == 401)
        #expect(try app.next(token, project: 1).0 == 401)
        #expect(try await app.count("SELECT count(*) FROM audit_log WHERE action = 'user_disabled'") == 1)
        await app.stop()
    }
}

@Suite struct InviteTests {
    func createInvite(_ app: TestApp, admin: String, role: String = "annotator", hours: Int = 72) throws -> (id: Int64, token: String) {
        let response = try app.client().request(
            "POST", "/api/invites", headers: ["Authorization": "Bearer \(admin)"],
            body: Array(#"{"role":"\#(role)","expires_in_hours":\#(hours)}"#.utf8))
        #expect(response.status == 201)
        let invite = try JSONValue.parse(response.body)["invite"]
        return (try #require(invite?["id"]?.intValue), try #require(invite?["token"]?.stringValue))
    }

    func accept(_ app: TestApp, token: String, username: String) throws -> RawClient.Response {
        try app.client().request(
            "POST", "/api/invites/accept", headers: ["Content-Type": "application/json"],
            body: JSONValue.object(["token": .string(token), "username": .string(username), "password": "a long enough password"])
                .serialized())
    }

    @Test(arguments: TestEngine.all)
    func anInviteIsSingleUseAndCarriesItsRole(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let admin = try await app.user("boss", role: .admin)
        let invite = try createInvite(app, admin: admin, role: "reviewer")
        let accepted = try accept(app, token: invite.token, username: "rita")
        #expect(accepted.status == 201)
        #expect(try JSONValue.parse(accepted.body)["user"]?["role"] == "reviewer")
        #expect(accepted.sessionCookie != nil)
        #expect(try app.login("rita").status == 200)
        let again = try accept(app, token: invite.token, username: "rita2")
        #expect(again.status == 400)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func expiredAndRevokedInvitesFail(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let admin = try await app.user("boss", role: .admin)
        let expiring = try createInvite(app, admin: admin, hours: 1)
        let revoked = try createInvite(app, admin: admin)
        let revoke = try app.client().request("DELETE", "/api/invites/\(revoked.id)", headers: ["Authorization": "Bearer \(admin)"])
        #expect(revoke.status == 204)
        app.clock.advance(seconds: 3601)
        #expect(try accept(app, token: expiring.token, username: "late").status == 400)
        #expect(try accept(app, token: revoked.token, username: "gone").status == 400)
        #expect(try accept(app, token: "made-up", username: "x").status == 400)
        let list = try app.client().request("GET", "/api/invites", headers: ["Authorization": "Bearer \(admin)"])
        #expect(!list.bodyText.contains(expiring.token), "tokens are shown once")
        let audit = try app.client().request("GET", "/api/audit", headers: ["Authorization": "Bearer \(admin)"])
        #expect(audit.bodyText.contains("invite_created") && audit.bodyText.contains("invite_revoked"))
        await app.stop()
    }

    /// Fake invite tokens are refused before scrypt, and a spray of them is throttled
    /// per address like sign-ins (20 at once: 5 refused as invalid, 15 throttled).
    @Test(arguments: TestEngine.all)
    func fakeTokensAreRefusedCheaplyAndThrottled(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let admin = try await app.user("boss", role: .admin)
        let real = try createInvite(app, admin: admin)
        let statuses = Mutex<[Int]>([])
        let port = app.port
        Threads.run(20) { index in
            let body = JSONValue.object([
                "token": .string("fake-token-\(index)"), "username": .string("u\(index)"), "password": "a long enough password",
            ])
            let status =
                (try? RawClient(port: port).request(
                    "POST", "/api/invites/accept", headers: ["Content-Type": "application/json"], body: body.serialized()
                ).status) ?? 0
            statuses.withLock { $0.append(status) }
        }
        let seen = statuses.withLock { $0 }
        #expect(seen.filter { $0 == 400 }.count == 5 && seen.filter { $0 == 429 }.count == 15, "\(seen)")
        #expect(try accept(app, token: real.token, username: "late").status == 429, "this address is throttled for a while")
        app.clock.advance(seconds: 15 * 60 + 1)
        #expect(try accept(app, token: real.token, username: "late").status == 201)
        await app.stop()
    }

    /// 100 fake tokens from 20 addresses used to fill one site-wide bucket and
    /// block every real invite and reset link for 15 minutes.
    @Test(arguments: TestEngine.all)
    func fakeLinksFromManyAddressesLeaveRealLinksWorking(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine) { $0.http.trustedProxies = [try! IPRange("127.0.0.1/32")] }
        let admin = try await app.user("boss", role: .admin)
        let real = try createInvite(app, admin: admin)
        func accept(_ token: String, _ username: String, from client: String) throws -> Int {
            try app.client().request(
                "POST", "/api/invites/accept", headers: ["Content-Type": "application/json", "X-Forwarded-For": client],
                body: JSONValue.object(["token": .string(token), "username": .string(username), "password": "a long enough password"])
                    .serialized()
            ).status
        }
        for address in 0..<20 {
            for index in 0..<5 {
                #expect(try accept("fake-\(address)-\(index)", "u\(address)x\(index)", from: "192.0.2.\(address)") == 400)
            }
        }
        #expect(try accept("fake-again", "someone", from: "192.0.2.3") == 429, "the spraying address is throttled")
        #expect(try accept(real.token, "newcomer", from: "203.0.113.9") == 201, "a real invite from anywhere else works")
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func weakPasswordsAndTakenNamesAreRefused(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let admin = try await app.user("boss", role: .admin)
        let invite = try createInvite(app, admin: admin)
        let weak = try app.client().request(
            "POST", "/api/invites/accept", headers: ["Content-Type": "application/json"],
            body: Array(#"{"token":"\#(invite.token)","username":"new","password":"short"}"#.utf8))
        #expect(weak.status == 400)
        #expect(weak.bodyText.contains("at least 10 characters"))
        #expect(try accept(app, token: invite.token, username: "boss").status == 400, "name taken")
        #expect(try accept(app, token: invite.token, username: "fresh").status == 201, "the invite survived the failures")
        await app.stop()
    }
}

@Suite struct SecurityHeaderTests {
    @Test(arguments: TestEngine.all)
    func everyResponseCarriesThem(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let client = try app.client()
        for (method, path) in [("GET", "/healthz"), ("GET", "/"), ("GET", "/api/me"), ("GET", "/nope"), ("POST", "/healthz")] {
            let response = try client.request(method, path)
            #expect(response.header("content-security-policy") == SecurityHeaders.contentSecurityPolicy, "\(method) \(path)")
            #expect(response.header("x-content-type-options") == "nosniff")
            #expect(response.header("referrer-policy") == "no-referrer")
        }
        await app.stop()
    }

    @Test func noInlineScriptInPublic() throws {
        let root = try Locations.publicDirectory(nil)
        guard let directory = opendir(root) else { throw ValidationError("no Public/") }
        defer { closedir(directory) }
        var checked = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasSuffix(".html"), let file = fopen(root + "/" + name, "r") else { continue }
            var text = ""
            var buffer = [CChar](repeating: 0, count: 4096)
            while fgets(&buffer, 4096, file) != nil {
                text += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            fclose(file)
            let lower = text.lowercased()
            for script in lower.split(separator: "<script").dropFirst() {
                let tag = script.prefix { $0 != ">" }
                #expect(tag.contains("src="), "inline <script> in \(name)")
            }
            #expect(!lower.contains("javascript:"), "\(name)")
            #expect(lower.firstMatch(of: /\son[a-z]+\s*=/) == nil, "inline event handler in \(name)")
            #expect(!lower.contains("<style"), "inline style block in \(name)")
            checked += 1
        }
        #expect(checked > 0)
    }
}

@Suite struct PasswordResetTests {
    func issue(_ app: TestApp, admin: String, userID: Int, body: String = "{}") throws -> RawClient.Response {
        try app.client().request(
            "POST", "/api/users/\(userID)/password-reset", headers: ["Authorization": "Bearer \(admin)"], body: Array(body.utf8))
    }

    func accept(_ app: TestApp, token: String, password: String = "a brand new password") throws -> RawClient.Response {
        try app.client().request(
            "POST", "/api/password-resets/accept", headers: ["Content-Type": "application/json"],
            body: JSONValue.object(["token": .string(token), "password": .string(password)]).serialized())
    }

    @Test(arguments: TestEngine.all)
    func aResetLinkSetsThePasswordOnceAndEndsEverySession(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let admin = try await app.user("boss", role: .admin)
        let ann = try await app.person("ann")
        let oldCookie = try #require(try app.login("ann").sessionCookie)
        let issued = try issue(app, admin: admin, userID: ann)
        #expect(issued.status == 201, "\(issued)")
        let reset = try JSONValue.parse(issued.body)["reset"]
        let token = try #require(reset?["token"]?.stringValue)
        #expect(reset?["url"]?.stringValue == "/reset/\(token)")
        #expect(reset?["user"]?["username"] == "ann")

        #expect(try accept(app, token: token, password: "short").status == 400, "weak passwords are refused")
        let accepted = try accept(app, token: token)
        #expect(accepted.status == 200, "\(accepted)")
        #expect(accepted.sessionCookie != nil, "the person is signed in")
        #expect(try app.client().request("GET", "/api/me", headers: ["Cookie": oldCookie]).status == 401, "older sessions ended")
        #expect(try app.login("ann").status == 401, "the old password no longer works")
        #expect(try app.login("ann", password: "a brand new password").status == 200)
        #expect(try accept(app, token: token, password: "yet another password").status == 400, "single use")
        #expect(try await app.count("SELECT count(*) FROM audit_log WHERE action = 'password_reset_created' AND target = 'ann'") == 1)
        #expect(try await app.count("SELECT count(*) FROM audit_log WHERE action = 'password_set' AND target = 'ann'") == 1)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func aNewLinkReplacesTheOldAndLinksExpire(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let admin = try await app.user("boss", role: .admin)
        let ann = try await app.person("ann")
        let first = try #require(try JSONValue.parse(issue(app, admin: admin, userID: ann).body)["reset"]?["token"]?.stringValue)
        let second = try #require(
            try JSONValue.parse(issue(app, admin: admin, userID: ann, body: #"{"expires_in_hours":1}"#).body)["reset"]?["token"]?
                .stringValue)
        #expect(try accept(app, token: first).status == 400, "replaced by the second link")
        app.clock.advance(seconds: 3601)
        #expect(try accept(app, token: second).status == 400, "expired after an hour")
        #expect(try accept(app, token: "not-a-token").status == 400)
        #expect(try issue(app, admin: admin, userID: 999).status == 404)
        #expect(try issue(app, admin: admin, userID: ann, body: #"{"expires_in_hours":0}"#).status == 400)
        #expect(try issue(app, admin: admin, userID: ann, body: #"{"hours":3}"#).status == 400)
        let annotator = try await app.user("ann2")
        #expect(try issue(app, admin: annotator, userID: ann).status == 403, "admins only")
        #expect(try app.login("ann").status == 200, "nothing changed the password")
        await app.stop()
    }
}
