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
        server.signal(SIGTERM)
        #expect(server.waitForExit() == 0)
        // One access log line per request: method, path, status, bytes, microseconds.
        let access = server.output.split(separator: "\n").filter { $0.contains("arbiter.access") }
        #expect(access.count == 2)
        #expect(access.first?.contains("GET /healthz 200 15 ") == true)
    }

    @Test func sigintAlsoStopsCleanly() throws {
        let server = try ServerProcess(["serve", "--port", "0", "--log-level", "notice", "--db", db])
        server.signal(SIGINT)
        #expect(server.waitForExit() == 0)
    }

    @Test(arguments: [
        (["serve", "--port", "70000"], "--port must be between 0 and 65535"),
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

    @Test func demoSeedsOnceAndTheAnnotatorCanWork() throws {
        let server = try ServerProcess(["serve", "--port", "0", "--demo", "--log-level", "notice", "--db", db])
        // The demo lines come before the listening line, which the helper waited for.
        let lines = server.output.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("demo project 'Demo: helpful and harmless' (id 1) with 51 pairs") })
        let token = try #require(lines.first { $0.hasPrefix("annotator token:") }?.split(separator: " ").last.map(String.init))
        let client = try RawClient(port: server.port)
        let next = try client.request("GET", "/api/projects/1/next", headers: ["Authorization": "Bearer \(token)"])
        #expect(next.status == 200)
        let id = try #require(JSONValue.parse(next.body)["assignment"]?["id"]?.intValue)
        let submitted = try client.request(
            "POST", "/api/assignments/\(id)/annotation", headers: ["Authorization": "Bearer \(token)"], body: Array(#"{"choice":"left","strength":2}"#.utf8))
        #expect(submitted.status == 201)
        server.signal(SIGTERM)
        #expect(server.waitForExit() == 0)

        // A second start keeps the data and does not seed again.
        let again = try ServerProcess(["serve", "--port", "0", "--demo", "--log-level", "notice", "--db", db])
        #expect(again.output.contains("demo project already present"))
        again.signal(SIGTERM)
        #expect(again.waitForExit() == 0)
    }
}
