import Glibc
import Testing
import TestSupport

/// `arbiter serve` as a user runs it: its own process, real HTTP, signals.
@Suite struct ServeCommandTests {
    @Test func servesHealthzAndTheUIThenStopsOnSIGTERM() throws {
        let server = try ServerProcess(["serve", "--port", "0"])
        let client = try RawClient(port: server.port)
        let health = try client.request("GET", "/healthz")
        #expect(health.status == 200)
        #expect(health.bodyText == #"{"status":"ok"}"#)
        let page = try client.request("GET", "/")
        #expect(page.status == 200)
        #expect(page.header("content-type") == "text/html; charset=utf-8")
        #expect(page.bodyText.contains("<title>Arbiter</title>"))
        server.signal(SIGTERM)
        #expect(server.waitForExit() == 0)
        // One access log line per request: method, path, status, bytes, microseconds.
        let access = server.output.split(separator: "\n").filter { $0.contains("arbiter.access") }
        #expect(access.count == 2)
        #expect(access.first?.contains("GET /healthz 200 15 ") == true)
    }

    @Test func sigintAlsoStopsCleanly() throws {
        let server = try ServerProcess(["serve", "--port", "0", "--log-level", "notice"])
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
        let process = try ServerProcess(arguments, waitForPort: false)
        let status = process.waitForExit()
        #expect(status != 0)
        #expect(process.output.contains(message), "stderr was: \(process.output)")
    }

    @Test func portInUseIsReported() throws {
        let first = try ServerProcess(["serve", "--port", "0", "--log-level", "notice"])
        let second = try ServerProcess(["serve", "--port", "\(first.port)"], waitForPort: false)
        #expect(second.waitForExit() != 0)
        #expect(second.output.contains("Address already in use"), "stderr was: \(second.output)")
    }
}
