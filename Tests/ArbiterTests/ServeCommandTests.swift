import Glibc
import JSON
import Testing
import TestSupport

/// `arbiter serve` as a user runs it: its own process, real HTTP, signals.
@Suite struct ServeCommandTests {
    let directory = TemporaryDirectory()
    var db: String { directory.path + "/serve.sqlite" }

    @Test func servesHealthzAndTheUIThenStopsOnSIGTERM() throws {
        let server = try ServerProcess(["serve", "--port", "0", "--db", db])
        let client = try RawClient(port: server.port)
        let health = try client.request("GET", "/healthz")
        #expect(health.status == 200)
        #expect(health.bodyText == #"{"status":"ok"}"#)
        let page = try client.request("GET", "/")
        #expect(page.status == 200)
        #expect(page.header("content-type") == "text/html; charset=utf-8")
        #expect(page.bodyText.contains("Arbiter</title>"))
        let secret = "s3cretInviteToken0123456789abcdefghijklmnop"
        #expect(try client.request("GET", "/invite/\(secret)").status == 200)
        #expect(try client.request("GET", "/reset/\(secret)").status == 200)
        server.signal(SIGTERM)
        #expect(server.waitForExit() == 0)
        // One access log line per request: method, path, status, bytes, microseconds.
        let access = server.output.split(separator: "\n").filter { $0.contains("arbiter.access") }
        #expect(access.count == 4)
        #expect(access.first?.contains("GET /healthz 200 15 ") == true)
        // Tokens in paths are never logged.
        #expect(!server.output.contains(secret))
        #expect(access.contains { $0.contains("GET /invite/… 200") } && access.contains { $0.contains("GET /reset/… 200") })
    }

    @Test func sigintAlsoStopsCleanly() throws {
        let server = try ServerProcess(["serve", "--port", "0", "--log-level", "notice", "--db", db])
        server.signal(SIGINT)
        #expect(server.waitForExit() == 0)
    }

    @Test(arguments: [
        (["serve", "--port", "70000"], "--port must be between 0 and 65535"),
        (["serve", "--port", "0", "--trusted-proxy", "10.0.0.1/8"], "--trusted-proxy '10.0.0.1/8': address bits are set past /8"),
        (["serve", "--port", "0", "--host", "not-an-ip"], "invalid address"),
        (["serve", "--port", "0", "--public-dir", "/nonexistent/dir"], "/nonexistent/dir"),
        (["serve", "--bogus"], "Unknown option"),
    ])
    func badArgumentsFailWithOneClearLine(arguments: [String], message: String) throws {
        let process = try ServerProcess(arguments + ["--db", db], waitForPort: false)
        let status = process.waitForExit()
        #expect(status != 0)
        #expect(process.output.contains(message), "stderr was: \(process.output)")
    }

    @Test func portInUseIsReported() throws {
        let first = try ServerProcess(["serve", "--port", "0", "--log-level", "notice", "--db", db])
        let second = try ServerProcess(["serve", "--port", "\(first.port)", "--db", directory.path + "/other.sqlite"], waitForPort: false)
        #expect(second.waitForExit() != 0)
        #expect(second.output.contains("Address already in use"), "stderr was: \(second.output)")
    }

    /// A newcomer's first run: a URL to open, a password per role that signs in,
    /// judgements to review (one simulated rater obviously bad), and a second run
    /// that renews the passwords without importing anything twice.
    @Test func demoIsACompleteFirstRun() throws {
        let server = try ServerProcess(["serve", "--port", "0", "--demo", "--log-level", "notice", "--db", db])
        try server.waitForLine { $0.hasPrefix("passwords and tokens are shown once") }
        let lines = server.output.split(separator: "\n").map(String.init)
        #expect(
            lines.contains("demo: created project 'Demo: helpful and harmless' (id 1): 51 pairs, 90 judgements from 5 simulated raters"))
        #expect(lines.contains("open http://127.0.0.1:\(server.port)/"))
        let signIns = lines.filter { $0.hasPrefix("sign-in: ") }.map { $0.split(separator: " ").map(String.init) }
        #expect(signIns.map { [$0[1], $0[2]] } == [["admin", "admin"], ["reviewer", "reviewer"], ["annotator", "annotator"]])
        let client = try RawClient(port: server.port)
        func login(_ username: String, _ password: String) throws -> RawClient.Response {
            try client.request(
                "POST", "/api/login", headers: ["Content-Type": "application/json"],
                body: Array(JSONValue.object(["username": .string(username), "password": .string(password)]).jsonText.utf8))
        }
        for signIn in signIns {
            let response = try login(signIn[2], signIn[3])
            #expect(response.status == 200, "\(response)")
            #expect(try JSONValue.parse(response.body)["user"]?["role"]?.stringValue == signIn[1])
        }
        #expect(try client.request("GET", "/favicon.ico").header("content-type") == "image/x-icon")

        // The review data is real: 90 judgements, and the left-clicker is flagged.
        let admin = try #require(lines.first { $0.hasPrefix("admin token:") }?.split(separator: " ").last.map(String.init))
        let raters = try JSONValue.parse(
            client.request("GET", "/api/projects/1/raters", headers: ["Authorization": "Bearer \(admin)"]).body)
        let flagged = raters["raters"]?.arrayValue?.filter { $0["status"]?.stringValue == "flagged" }.compactMap {
            $0["annotator"]?.stringValue
        }
        #expect(flagged == ["rater-zed"], "\(raters)")

        // The annotator still has pairs to judge.
        let token = try #require(lines.first { $0.hasPrefix("annotator token:") }?.split(separator: " ").last.map(String.init))
        let next = try client.request("GET", "/api/projects/1/next", headers: ["Authorization": "Bearer \(token)"])
        #expect(next.status == 200)
        let id = try #require(JSONValue.parse(next.body)["assignment"]?["id"]?.intValue)
        let submitted = try client.request(
            "POST", "/api/assignments/\(id)/annotation", headers: ["Authorization": "Bearer \(token)"],
            body: Array(#"{"choice":"left","strength":2}"#.utf8))
        #expect(submitted.status == 201)
        server.signal(SIGTERM)
        #expect(server.waitForExit() == 0)

        // A second start imports nothing and gives new passwords; the old ones stop working.
        let again = try ServerProcess(["serve", "--port", "0", "--demo", "--log-level", "notice", "--db", db])
        let renewed = try again.waitForLine { $0.hasPrefix("sign-in: annotator") }.split(separator: " ").map(String.init)
        #expect(again.output.contains("was already here; nothing imported"))
        #expect(!again.output.contains("token:"))
        let second = try RawClient(port: again.port)
        func login2(_ password: String) throws -> Int {
            try second.request(
                "POST", "/api/login", headers: ["Content-Type": "application/json"],
                body: Array(JSONValue.object(["username": "annotator", "password": .string(password)]).jsonText.utf8)
            ).status
        }
        #expect(try login2(signIns[2][3]) == 401)
        #expect(try login2(renewed[3]) == 200)
        let stats = try JSONValue.parse(
            second.request("GET", "/api/projects/1/dashboard", headers: ["Authorization": "Bearer \(admin)"]).body)
        #expect(stats["pairs"]?["gold"]?.intValue == 4, "\(stats)")
        #expect(stats["agreement"]?["judgements"]?.intValue == 91, "\(stats)")
        again.signal(SIGTERM)
        #expect(again.waitForExit() == 0)
    }
}
