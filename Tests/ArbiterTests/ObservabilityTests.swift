@testable import Arbiter
import Glibc
import JSON
import Storage
import Testing
import TestSupport

/// `/readyz`, `/metrics` (Prometheus text, checked by the reference parser) and JSON logs.
@Suite struct ObservabilityTests {
    @Test(arguments: TestEngine.all)
    func readyzAndMetrics(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 5)
        let admin = try await app.user("boss", role: .admin)
        let ann = try await app.user("ann")
        let ready = try app.client().request("GET", "/readyz")
        #expect(ready.status == 200 && ready.bodyText == #"{"status":"ready"}"#)
        let (_, assignment) = try app.next(ann, project: project.id)
        let id = try #require(assignment?["id"]?.intValue)
        #expect(try app.submit(ann, assignment: id, #"{"choice":"left"}"#).0 == 201)
        #expect(try app.submit(ann, assignment: id, #"{"choice":"left"}"#).0 == 200, "a replay is not counted again")
        _ = try app.client().request("GET", "/api/projects/\(project.id)/nope", headers: ["Authorization": "Bearer \(admin)"])

        #expect(try app.client().request("GET", "/metrics").status == 401)
        #expect(try app.client().request("GET", "/metrics", headers: ["Authorization": "Bearer \(ann)"]).status == 403)
        let scrape = try app.client().request("GET", "/metrics", headers: ["Authorization": "Bearer \(admin)"])
        #expect(scrape.status == 200)
        #expect(scrape.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = scrape.bodyText
        #expect(text.contains(#"http_requests_total{method="GET",route="/api/projects/{id}/next",status="200"} 1"#), "\(text)")
        #expect(text.contains(#"http_requests_total{method="POST",route="/api/assignments/{id}/annotation",status="201"} 1"#))
        #expect(text.contains(#"route="unmatched",status="404""#))
        #expect(text.contains("arbiter_annotations_total 1"))
        #expect(text.contains("arbiter_live_leases 0"))
        // Statements the app's pool sent: at least the judgement's and this scrape's own.
        let statements = text.split(separator: "\n").first { $0.hasPrefix("arbiter_database_statements_total ") }
        #expect(statements.flatMap { Int($0.split(separator: " ").last ?? "") }.map { $0 >= 4 } == true, "\(statements ?? "none")")
        #expect(text.contains("http_open_connections "))
        #expect(text.contains("sqlite_group_commit_batch_size_bucket"))
        // The reference parser (prometheus_client) reads the whole exposition.
        let directory = TemporaryDirectory()
        directory.write("metrics.txt", text)
        let parsed = try PythonReference.run([
            "-c",
            """
            from prometheus_client.parser import text_string_to_metric_families
            families = {f.name: f for f in text_string_to_metric_families(open("\(directory.path)/metrics.txt").read())}
            print(families["http_request_duration_seconds"].type, families["sqlite_commits"].type, families["http_open_connections"].type)
            print(sum(s.value for s in families["arbiter_annotations"].samples if s.name == "arbiter_annotations_total"))
            """,
        ])
        #expect(parsed.status == 0, "\(parsed.stderr)")
        #expect(parsed.stdout == "histogram counter gauge\n1\n", "\(parsed.stdout)")
        await app.stop()
    }

    @Test func jsonLogsAreOneObjectPerLine() throws {
        let directory = TemporaryDirectory()
        let server = try ServerProcess(["serve", "--port", "0", "--log-format", "json", "--db", directory.path + "/log.sqlite"])
        #expect(try RawClient(port: server.port).request("GET", "/healthz").status == 200)
        server.signal(SIGTERM)
        #expect(server.waitForExit() == 0)
        let lines = server.output.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(lines.count >= 3, "\(server.output)")
        for line in lines {
            let object = try JSONValue.parse(String(line))
            #expect(object["level"]?.stringValue != nil && object["label"]?.stringValue != nil && object["time"]?.stringValue != nil)
        }
        #expect(lines.contains { $0.contains(#""label":"arbiter.access""#) && $0.contains("GET /healthz 200") })
        let bad = try ServerProcess(
            ["serve", "--port", "0", "--log-format", "xml", "--db", directory.path + "/log.sqlite"], waitForPort: false)
        #expect(bad.waitForExit() != 0)
        #expect(bad.output.contains("--log-format must be text or json"))
    }
}
