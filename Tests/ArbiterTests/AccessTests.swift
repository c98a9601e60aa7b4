@testable import Arbiter
import HTTPServer
import JSON
import Testing
import TestSupport

/// Deny by default, proved over the whole route table: no credentials, each role,
/// a disabled user; annotator privacy; hostile bodies on every JSON route.
@Suite struct AccessTests {
    func path(_ pattern: String) -> String {
        pattern.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("{") ? "1" : String($0) }.joined(separator: "/")
    }

    @Test(arguments: TestEngine.all)
    func everyRouteRefusesWhoItMust(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        _ = try await app.project(pairs: 2)
        var tokens: [Role: String] = [:]
        for role in Role.allCases { tokens[role] = try await app.user("user-\(role.rawValue)", role: role) }
        let disabledID = try await app.person("gone", role: .admin)
        let disabled = try await app.seed { db in
            let token = try Users.createToken(db, userID: disabledID).token
            try Users.update(db, userID: disabledID, role: nil, disabled: true)
            return token
        }
        let table = app.app.routeTable
        #expect(table.count >= 15)
        var checked = 0
        for spec in table {
            let target = path(spec.pattern)
            let client = try app.client()
            guard case .roles(let allowed) = spec.access else { continue }
            let anonymous = try client.request(spec.method.rawValue, target, body: Array("{}".utf8))
            #expect(anonymous.status == 401, "\(spec.method) \(spec.pattern) without credentials")
            #expect(
                try client.request(spec.method.rawValue, target, headers: ["Authorization": "Bearer \(disabled)"], body: Array("{}".utf8))
                    .status == 401,
                "\(spec.method) \(spec.pattern) as a disabled user")
            #expect(
                try client.request(spec.method.rawValue, target, headers: ["Authorization": "Bearer arb_forged"], body: Array("{}".utf8))
                    .status == 401)
            for role in Role.allCases where !allowed.contains(role) {
                let response = try client.request(
                    spec.method.rawValue, target, headers: ["Authorization": "Bearer \(tokens[role]!)"], body: Array("{}".utf8))
                #expect(response.status == 403, "\(spec.method) \(spec.pattern) as \(role)")
            }
            checked += 1
        }
        #expect(checked == table.filter { $0.access != .anyone }.count)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func theRouteTableMatchesTheRouter(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        for spec in app.app.routeTable {
            let response = try app.client().request("OPTIONS", path(spec.pattern))
            #expect(response.status == 405, "\(spec.pattern) is registered")
            #expect(response.header("allow")?.contains(spec.method.rawValue) == true)
        }
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func annotatorsNeverSeeOtherRaters(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 3) { $0.overlap = 5 }
        try await app.seed { db in
            var reader = JSONLReader(
                bytes: Array(#"{"pair":"p0","annotator":"secret-rater","choice":"B","rationale":"hidden-rationale"}"#.utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
        }
        let token = try await app.user("ann")
        let client = try app.client()
        var bodies: [String] = []
        for spec in app.app.routeTable where spec.method == .GET {
            guard case .roles(let allowed) = spec.access, allowed.contains(.annotator) else { continue }
            bodies.append(try client.request("GET", path(spec.pattern), headers: ["Authorization": "Bearer \(token)"]).bodyText)
        }
        while true {
            let (status, assignment) = try app.next(token, project: project.id)
            guard status == 200, let id = assignment?["id"]?.intValue else { break }
            bodies.append(assignment?.jsonText ?? "")
            bodies.append(try app.submit(token, assignment: id, #"{"choice":"left"}"#).1.jsonText)
        }
        #expect(bodies.count >= 6)
        for body in bodies {
            #expect(!body.contains("secret-rater"))
            #expect(!body.contains("hidden-rationale"))
        }
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func hostileBodiesOnEveryJSONRouteGet4xx(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        _ = try await app.project(pairs: 2)
        let admin = try await app.user("boss", role: .admin)
        let annotator = try await app.user("ann")
        let assignment = try app.next(annotator, project: 1).1?["id"]?.intValue ?? 1
        let tenMB = "\"" + String(repeating: "x", count: 10 * 1024 * 1024) + "\""
        let bodies: [[UInt8]] = [
            Array("{".utf8), Array("not json".utf8), Array("[]".utf8), Array("42".utf8), Array("null".utf8),
            Array(#"{"choice":5,"role":7,"username":[],"password":{},"token":true,"disabled":"yes"}"#.utf8),
            Array(#"{"choice":"\#(String(repeating: "y", count: 10 * 1024 * 1024))"}"#.utf8),
            Array(#"{"username":\#(tenMB),"password":\#(tenMB),"token":\#(tenMB),"role":\#(tenMB)}"#.utf8),
            Array(#"{"choice":""#.utf8) + [0xC3, 0x28, 0xFF] + Array(#""}"#.utf8),
            Array(String(repeating: "[", count: 100_000).utf8),
            Array(String(repeating: #"{"a":"#, count: 5000).utf8),
        ]
        for spec in app.app.routeTable where spec.method == .POST || spec.method == .PATCH || spec.method == .PUT {
            if spec.pattern.hasSuffix("/pairs") || spec.pattern.hasSuffix("/annotations") { continue }  // JSONL: see the import tests
            if spec.pattern == "/api/logout" || spec.pattern.hasSuffix("/skip") { continue }  // read no body
            for body in bodies {
                let token = spec.pattern.hasPrefix("/api/assignments") ? annotator : admin
                let target = path(spec.pattern).replacingOccurrences(of: "/api/assignments/1/", with: "/api/assignments/\(assignment)/")
                let response = try app.client().request(
                    spec.method.rawValue, target, headers: ["Authorization": "Bearer \(token)"], body: body)
                #expect((400..<500).contains(response.status), "\(spec.method) \(spec.pattern) → \(response.status) for \(body.prefix(40))")
                #expect(response.bodyText.hasPrefix(#"{"error":{"code":"#))
            }
        }
        #expect(try app.client().request("GET", "/healthz").status == 200, "still alive")
        #expect(try await app.count("SELECT count(*) FROM users") == 2, "nothing was created by the hostile bodies")
        await app.stop()
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// Bodies are read only for callers allowed on the route: the caller is checked
/// on the head, `100 Continue` comes after that check, and anonymous routes keep
/// small limits.
@Suite struct AuthenticationBeforeBodyTests {
    @Test(arguments: TestEngine.all)
    func anonymousUploadsAreRefusedBeforeTheBody(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 0)
        let annotator = try await app.user("ann")
        let admin = try await app.user("boss", role: .admin)
        for (credentials, status) in [
            ("", 401), ("Authorization: Bearer \(annotator)\r\n", 403), ("Authorization: Bearer arb_nope\r\n", 401),
        ] {
            // 512 MiB announced, nothing sent: the answer comes at once, never a 100.
            let client = try app.client()
            try client.send(
                "POST /api/projects/\(project.id)/pairs HTTP/1.1\r\nHost: test\r\n\(credentials)Content-Length: 536870912\r\nExpect: 100-continue\r\n\r\n"
            )
            let response = try client.readResponse()
            #expect(response.status == status, "\(credentials): \(response)")
            #expect(response.header("connection") == "close")
            #expect(client.isClosedByServer(), "the unread body ends the connection")
        }
        // The admin gets 100 Continue, then sends the body.
        let line = #"{"id":"q1","prompt":"p","response_a":"a","response_b":"b"}"# + "\n"
        let client = try app.client()
        try client.send(
            "POST /api/projects/\(project.id)/pairs HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer \(admin)\r\nContent-Length: \(line.utf8.count)\r\nExpect: 100-continue\r\n\r\n"
        )
        let interim = try client.readResponse()
        #expect(interim.status == 100)
        try client.send(line)
        let done = try client.readResponse()
        #expect(done.status == 200 || done.status == 201, "\(done)")
        #expect(try await app.count("SELECT count(*) FROM pairs") == 1)
        // A body that arrives with its head needs no extra round: the usual path.
        #expect(try app.call("POST", "/api/projects/\(project.id)/pairs", admin, line).status < 300)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func anonymousRoutesTakeSmallBodies(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let big = try app.client().request(
            "POST", "/api/login", headers: ["Content-Type": "application/json"],
            body: Array(repeating: UInt8(ascii: " "), count: 64 * 1024 + 1))
        #expect(big.status == 413)
        await app.stop()
    }
}
