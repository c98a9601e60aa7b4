@testable import Arbiter
import HTTPServer
import JSON
import Storage
import Testing
import TestSupport

/// The API behind the admin pages: projects, tokens, dashboard, import reports.
@Suite struct AdminAPITests {
    @Test(arguments: TestEngine.all)
    func projectsAreCreatedAndEditedWithFieldErrors(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let admin = try await app.user("boss", role: .admin)
        let reviewer = try await app.user("rev", role: .reviewer)
        let created = try app.call(
            "POST", "/api/projects", admin,
            ##"{"name":"  Helpful  ","overlap":5,"aspects":["honesty"," safety "],"allow_ties":false,"guidelines":"# Be kind"}"##)
        #expect(created.status == 201)
        let project = try #require(created.json["project"])
        #expect(project["name"] == "Helpful")
        #expect(project["overlap"] == 5)
        #expect(project["aspects"] == ["honesty", "safety"])
        #expect(project["allow_ties"] == false)
        #expect(project["lease_ttl_seconds"] == 600, "defaults for what was not sent")
        let id = try #require(project["id"]?.intValue)
        for (body, field) in [
            (#"{"name":"Helpful"}"#, "already exists"), (#"{"name":""}"#, "names"), (#"{"name":"x","overlap":0}"#, "overlap"),
            (#"{"name":"x","overlap":"3"}"#, "overlap"), (#"{"name":"x","gold_rate":0.7,"repeat_rate":0.5}"#, "gold rate"),
            (#"{"name":"x","colour":"red"}"#, "colour"), (#"{"overlap":2}"#, "name"), (#"{"name":"x","aspects":"a,b"}"#, "aspects"),
            (#"{"name":"x","allow_ties":"yes"}"#, "allow_ties"),
        ] {
            let refused = try app.call("POST", "/api/projects", admin, body)
            #expect(refused.status == 400, "\(body)")
            #expect(refused.json["error"]?["message"]?.stringValue?.contains(field) == true, "\(body): \(refused.json.jsonText)")
        }
        #expect(try app.call("POST", "/api/projects", reviewer, #"{"name":"mine"}"#).status == 403)
        // PATCH changes only what is sent.
        let edited = try app.call("PATCH", "/api/projects/\(id)", admin, #"{"name":"Helpfulness","rationale_required":true}"#)
        #expect(edited.status == 200)
        #expect(edited.json["project"]?["name"] == "Helpfulness")
        #expect(edited.json["project"]?["rationale_required"] == true)
        #expect(edited.json["project"]?["overlap"] == 5)
        #expect(try app.call("PATCH", "/api/projects/\(id)", admin, #"{"overlap":-1}"#).status == 400)
        #expect(try app.call("PATCH", "/api/projects/999", admin, #"{"overlap":2}"#).status == 404)
        let stored = try await app.app.store.pool.read { db in try Projects.find(db, id: Int(id)) }
        #expect(stored?.settings.overlap == 5 && stored?.name == "Helpfulness", "a refused edit changed nothing")
        #expect(try await app.count("SELECT count(*) FROM audit_log WHERE action IN ('project_created', 'project_updated')") == 2)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func tokensAreShownOnceAndRevoked(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let admin = try await app.user("boss", role: .admin)
        _ = try await app.user("scripts", role: .reviewer)
        let created = try app.call("POST", "/api/tokens", admin, #"{"username":"scripts","label":"nightly"}"#)
        #expect(created.status == 201)
        let token = try #require(created.json["token"]?["token"]?.stringValue)
        let id = try #require(created.json["token"]?["id"]?.intValue)
        #expect(try app.call("GET", "/api/projects", token).status == 200)
        let listed = try app.call("GET", "/api/tokens", admin)
        let entry = try #require(listed.json["tokens"]?.arrayValue?.first { $0["id"]?.intValue == id })
        #expect(entry["label"] == "nightly" && entry["revoked"] == false)
        #expect(!listed.json.jsonText.contains(token), "the token itself is never listed")
        #expect(try app.call("POST", "/api/tokens", admin, #"{"username":"nobody"}"#).status == 404)
        #expect(try app.call("POST", "/api/tokens", admin, #"{"username":"scripts","admin":true}"#).status == 400)
        #expect(try app.call("DELETE", "/api/tokens/\(id)", admin).status == 200)
        #expect(try app.call("DELETE", "/api/tokens/\(id)", admin).status == 404, "already revoked")
        // The authenticator caches tokens for 5 s; a fresh lookup refuses it.
        app.clock.advance(seconds: 6)
        try await Task.sleep(for: .seconds(5.2))
        #expect(try app.call("GET", "/api/projects", token).status == 401)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func dashboardCountsPairsLeasesAndJudgements(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 6) { $0.overlap = 2 }
        let admin = try await app.user("boss", role: .admin)
        let ann = try await app.user("ann")
        // p0: two judgements (complete); p1: one (in progress); one live lease; the rest untouched.
        let votes = [
            #"{"pair":"p0","annotator":"x","choice":"A"}"#, #"{"pair":"p0","annotator":"y","choice":"A"}"#,
            #"{"pair":"p1","annotator":"x","choice":"B"}"#,
        ]
        try await app.seed { db in
            var reader = JSONLReader(bytes: Array(votes.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
        }
        let (status, _) = try app.next(ann, project: project.id)
        #expect(status == 200)
        let report = try app.call("GET", "/api/projects/\(project.id)/dashboard", admin).json
        #expect(report["pairs"]?["total"] == 6)
        #expect(report["pairs"]?["complete"] == 1)
        #expect(report["live_leases"] == 1)
        // `next` serves pairs in progress first, so the lease is on p1 itself.
        #expect(report["pairs"]?["in_progress"] == 1)
        #expect(report["pairs"]?["untouched"] == 4)
        #expect(report["judgements_per_annotator"]?.arrayValue?.first?["annotator"] == "x")
        #expect(report["judgements_per_annotator"]?.arrayValue?.first?["judgements"] == 2)
        #expect(try app.call("GET", "/api/projects/\(project.id)/dashboard", ann).status == 403)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func aRefusedImportReturnsItsWholeReport(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 0)
        let admin = try await app.user("boss", role: .admin)
        let lines = (0..<30).map { index in
            index % 10 == 3
                ? #"{"id":"x\#(index)","prompt":"q"}"# : #"{"id":"x\#(index)","prompt":"q\#(index)","response_a":"a","response_b":"b"}"#
        }.joined(separator: "\n")
        let refused = try app.call("POST", "/api/projects/\(project.id)/pairs", admin, lines)
        #expect(refused.status == 422)
        #expect(refused.json["error"]?["code"] == "import_refused")
        #expect(refused.json["report"]?["error_count"] == 3)
        #expect(
            refused.json["report"]?["errors"]?.arrayValue?.compactMap { $0.stringValue?.split(separator: ":").first } == [
                "line 4", "line 14", "line 24",
            ])
        #expect(try await app.count("SELECT count(*) FROM pairs") == 0)
        await app.stop()
    }
}

/// Token use is written (coalesced, off the request path): the admin page's "last
/// used" and people's "last seen" are real.
@Suite struct TokenUsageTests {
    /// Polls until `sql` yields a value different from `old` (writes happen in a detached task).
    func value(_ app: TestApp, _ sql: String, differentFrom old: String?) async throws -> String? {
        for _ in 0..<200 {
            let value = try await app.seed { db in try db.queryFirst(sql) { $0.optionalString(0) } } ?? nil
            if value != old { return value }
            try await Task.sleep(for: .milliseconds(25))
        }
        return old
    }

    @Test(arguments: TestEngine.all)
    func lastUsedIsWrittenAtMostOnceAMinute(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let token = try await app.user("bot")
        let admin = try await app.user("boss", role: .admin)
        let sql = "SELECT t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.username = 'bot'"
        #expect(try app.call("GET", "/api/me", token).status == 200)
        let first = try await value(app, sql, differentFrom: nil)
        #expect(first != nil, "the first use is written")
        for _ in 0..<50 { _ = try app.call("GET", "/api/me", token) }
        app.clock.advance(seconds: 30)
        _ = try app.call("GET", "/api/me", token)
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await app.seed { db in try db.queryFirst(sql) { $0.optionalString(0) } } == first, "not again within the minute")
        app.clock.advance(seconds: 31)
        _ = try app.call("GET", "/api/me", token)
        let later = try await value(app, sql, differentFrom: first)
        #expect(later != first && later != nil)
        // The people list shows the token user as seen; the tokens list as used.
        let people = try app.call("GET", "/api/users", admin).json["users"]?.arrayValue ?? []
        #expect(people.first { $0["username"] == "bot" }?["last_seen_at"]?.stringValue != nil)
        let tokens = try app.call("GET", "/api/tokens", admin).json["tokens"]?.arrayValue ?? []
        #expect(tokens.first { $0["username"] == "bot" }?["last_used_at"]?.stringValue == later)
        await app.stop()
    }
}

/// Pair reports: one open per annotator and pair, capped, listed for admins with
/// the pair's texts, resolvable.
@Suite struct PairReportTests {
    @Test(arguments: TestEngine.all)
    func reportsAreLimitedListedAndResolved(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 2)
        let ann = try await app.user("ann")
        let admin = try await app.user("boss", role: .admin)
        let reviewer = try await app.user("rev", role: .reviewer)
        let id = try #require(app.next(ann, project: project.id).1?["id"]?.intValue)
        let report = { (reason: String) in
            try app.call("POST", "/api/assignments/\(id)/report", ann, JSONValue.object(["reason": .string(reason)]).jsonText)
        }
        #expect(try report("The prompt is cut off <b>here</b>").status == 201)
        let again = try report("Still cut off")
        #expect(again.status == 409 && again.json["error"]?["code"] == "already_reported")
        #expect(try report(String(repeating: "x", count: 2001)).status == 400, "capped at 2000 bytes")

        let listed = try app.call("GET", "/api/projects/\(project.id)/reports", admin)
        let first = try #require(listed.json["reports"]?.arrayValue?.first)
        #expect(listed.json["reports"]?.arrayValue?.count == 1)
        #expect(first["reason"] == "The prompt is cut off <b>here</b>" && first["reporter"] == "ann")
        #expect(first["pair_id"]?.stringValue?.hasPrefix("p") == true && first["response_a"]?.stringValue?.hasPrefix("A") == true)
        #expect(try app.call("GET", "/api/projects/\(project.id)/reports", reviewer).status == 403)
        #expect(try app.call("GET", "/api/projects/\(project.id)/reports?state=closed", admin).status == 400)

        let reportID = try #require(first["id"]?.intValue)
        #expect(try app.call("POST", "/api/reports/\(reportID)/resolve", admin).status == 204)
        #expect(try app.call("POST", "/api/reports/\(reportID)/resolve", admin).status == 404, "already resolved")
        #expect(try app.call("GET", "/api/projects/\(project.id)/reports", admin).json["reports"]?.arrayValue?.isEmpty == true)
        #expect(try app.call("GET", "/api/projects/\(project.id)/reports?state=all", admin).json["reports"]?.arrayValue?.count == 1)
        #expect(try report("Now something else").status == 201, "a new report once the old one is resolved")
        #expect(try await app.count("SELECT count(*) FROM audit_log WHERE action = 'report_resolved'") == 1)
        await app.stop()
    }
}
