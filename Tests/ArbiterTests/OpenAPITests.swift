@testable import Arbiter
import Glibc
import HTTPServer
import JSON
import Testing
import TestSupport

/// `/api/openapi.json` documents exactly the routes served, and schemathesis
/// (PyPI) fuzzes the live server from it: no 500s, no undocumented status codes,
/// content types or shapes.
@Suite struct OpenAPITests {
    @Test(arguments: TestEngine.all)
    func theDocumentListsExactlyTheRoutesServed(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let token = try await app.user("ann")
        let response = try app.client().request("GET", "/api/openapi.json", headers: ["Authorization": "Bearer \(token)"])
        #expect(response.status == 200)
        let document = try JSONValue.parse(response.body)
        #expect(document["openapi"] == "3.1.0")
        var documented = Set<String>()
        for (path, operations) in document["paths"]?.objectValue ?? [:] {
            for (method, operation) in operations.objectValue ?? [:] {
                documented.insert("\(method.uppercased()) \(path)")
                #expect(operation["responses"]?["default"] != nil, "\(method) \(path): errors documented")
            }
        }
        let served = Set(app.app.routeTable.map { "\($0.method.rawValue) \($0.pattern)" }).union(["GET /healthz"])
        #expect(documented == served, "undocumented: \(served.subtracting(documented)); stale: \(documented.subtracting(served))")
        for route in app.app.routeTable {
            #expect(OpenAPI.details["\(route.method.rawValue) \(route.pattern)"] != nil, "\(route.method) \(route.pattern) has no summary")
        }
        #expect(try app.client().request("GET", "/api/openapi.json").status == 401, "signed-in users only")
        await app.stop()
    }

    @Test func schemathesisFindsNoServerErrorsOrSchemaViolations() throws {
        let directory = TemporaryDirectory()
        let server = try ServerProcess(["serve", "--port", "0", "--demo", "--log-level", "notice", "--db", directory.path + "/fuzz.sqlite"])
        // The demo's lines follow the listening line (or come before it: the log is written by its own thread).
        let admin = try #require(try server.waitForLine { $0.hasPrefix("admin token:") }.split(separator: " ").last)
        let examples = getenv("ARBITER_SCHEMATHESIS_EXAMPLES").map { String(cString: $0) } ?? "10"
        let run = try CommandRunner.run(
            PythonReference.tool("schemathesis"),
            [
                "run", "http://127.0.0.1:\(server.port)/api/openapi.json",
                "-H", "Authorization: Bearer \(admin)", "--max-examples", examples, "--phases", "examples,fuzzing", "-w", "2",
                "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                // The fuzzer's own credentials: revoking its token or disabling its account ends the run early.
                "--exclude-path", "/api/logout", "--exclude-path-regex", "/api/(tokens|users)/\\{id\\}",
                "--seed", "42",
            ])
        server.signal(SIGTERM)
        #expect(server.waitForExit() == 0)
        #expect(run.status == 0, "output:\n\(run.stdout.suffix(4000))\n\(run.stderr.suffix(2000))")
        #expect(run.stdout.contains(" passed"), "\(run.stdout.suffix(2000))")
    }
}
