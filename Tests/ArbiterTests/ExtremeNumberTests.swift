@testable import Arbiter
import Glibc
import HTTPServer
import JSON
import Testing
import TestSupport

/// Every route, walked from the OpenAPI document, with extreme numbers in every
/// place a number can go: path ids, each documented query parameter and each
/// numeric field any JSON body reads. Nothing may answer 5xx, and the process
/// must still be serving at the end (an unchecked `a + b` on a client's number
/// traps and takes the whole server down).
@Suite struct ExtremeNumberTests {
    static let extremeTexts = ["9223372036854775807", "-9223372036854775808", "99999999999999999999", "1e308", "-1", "0", "NaN", "%00%ff"]
    static let extremeJSON = ["9223372036854775807", "-9223372036854775808", "99999999999999999999", "1e308", "-1e308", "-1", "0.5"]
    /// Every body field read as a number somewhere in the API.
    static let numericFields = [
        "overlap", "min_overlap", "stop_agree", "stop_posterior", "active_random_share", "active_retrain_every", "lease_ttl_seconds",
        "gold_rate", "repeat_rate", "max_per_annotator", "scale_min", "scale_max", "expires_in_hours", "strength", "duration_ms",
        "epochs", "hidden", "bits", "seed", "train_seed", "test_fraction", "min_gap", "min_agreement", "limit", "before", "id",
        "base", "choice", "ranking", "ratings", "bootstrap", "first_line", "items",
    ]
    /// Routes that would end the walk's own access (sign out, revoke, demote).
    static let skipped: Set<String> = ["POST /api/logout", "DELETE /api/tokens/{id}", "PATCH /api/users/{id}"]

    @Test(arguments: TestEngine.all)
    func noRouteFailsOnExtremeNumbers(engine: TestEngine) async throws {
        let fake = try FakeOpenAIServer(delayMs: 1)
        let app = try TestApp(engine: engine) { $0.models = ArenaTests.pool(fake) }
        let admin = try await app.user("ada", role: .admin)
        _ = try await app.user("annotator")
        _ = try await app.project(pairs: 3) { $0.overlap = 1 }
        let document = try JSONValue.parse(
            try app.client().request("GET", "/api/openapi.json", headers: ["Authorization": "Bearer \(admin)"]).body)
        var failures: [String] = []
        let client = try RawClient(port: app.port, timeout: 30)
        func send(_ method: String, _ target: String, _ body: String?) throws {
            var headers = ["Authorization": "Bearer \(admin)"]
            if body != nil { headers["Content-Type"] = "application/json" }
            let response = try RawClient(port: app.port, timeout: 30).request(
                method, target, headers: headers, body: Array((body ?? "").utf8))
            if response.status >= 500 {
                failures.append("\(method) \(target) \(body ?? "") → \(response.status) \(response.bodyText.prefix(120))")
            }
        }
        var operations = 0
        for (pattern, methods) in document["paths"]?.objectValue ?? [:] {
            for (method, operation) in methods.objectValue ?? [:] {
                let method = method.uppercased()
                guard !Self.skipped.contains("\(method) \(pattern)") else { continue }
                operations += 1
                let takesJSON = operation["requestBody"]?["content"]?["application/json"] != nil
                let takesLines = operation["requestBody"]?["content"]?["application/x-ndjson"] != nil
                let body: String? =
                    takesJSON ? "{}" : takesLines ? #"{"id":"n1","prompt":"x","response_a":"a","response_b":"b"}"# + "\n" : nil
                func path(id: String) -> String {
                    pattern.replacingOccurrences(of: "{id}", with: id).replacingOccurrences(of: "{username}", with: "annotator")
                        .replacingOccurrences(of: "{name}", with: "manifest.json")
                }
                for extreme in Self.extremeTexts {
                    try send(method, path(id: extreme), body)
                }
                let queries = (operation["parameters"]?.arrayValue ?? []).filter { $0["in"] == "query" }.compactMap {
                    $0["name"]?.stringValue
                }
                // Undocumented but read by some routes (generate's line numbers, pages of lists).
                for name in Set(queries + ["first_line", "limit", "after", "before", "bootstrap", "seed"]) where method != "DELETE" {
                    for extreme in Self.extremeTexts {
                        try send(method, path(id: "1") + "?endpoints=alpha,beta&dry_run=true&\(name)=\(extreme)", body)
                    }
                }
                if takesJSON && method != "DELETE" {
                    for field in Self.numericFields {
                        for extreme in Self.extremeJSON {
                            try send(method, path(id: "1"), #"{"\#(field)":\#(extreme)}"#)
                            try send(method, path(id: "1"), #"{"name":"x","arena":{"\#(field)":\#(extreme)},"\#(field)":[\#(extreme)]}"#)
                        }
                    }
                }
            }
        }
        #expect(operations > 40, "walked \(operations) operations")
        #expect(failures.isEmpty, "\(failures.count) server errors, first: \(failures.prefix(5))")
        #expect(try client.request("GET", "/healthz").status == 200, "still serving")
        await app.stop()
    }
}
