import Agreement
@testable import Arbiter
import JSON
import Storage
import Testing
import TestSupport

/// Ranking, rating and rewrite tasks through the HTTP API, on both engines:
/// a multi-response line becomes one task, the annotator sees the responses in a
/// shuffled order and answers by position, the server stores canonical indices,
/// and bad bodies get a 400 naming the field.
@Suite struct TaskKindTests {
    static let task = #"{"id":"t1","prompt":"Name a prime.","responses":["2","4","9","15"],"models":["m0","m1","m2","m3"]}"#

    func createProject(_ app: TestApp, _ admin: String, _ body: String) throws -> Int {
        let (status, json) = try app.call("POST", "/api/projects", admin, body)
        #expect(status == 201, "\(json)")
        return Int(json["project"]?["id"]?.intValue ?? -1)
    }

    @Test(arguments: TestEngine.all)
    func rankingTaskRoundTrip(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        defer { Task { await app.stop() } }
        let admin = try await app.user("root", role: .admin)
        let annotator = try await app.user("ann")
        let id = try createProject(app, admin, #"{"name":"rank","kind":"ranking","overlap":2,"rewrite":true}"#)
        let imported = try app.call(
            "POST", "/api/projects/\(id)/pairs", admin, Self.task + "\n" + #"{"id":"t2","prompt":"p","response_a":"x","response_b":"y"}"#)
        #expect(imported.status == 200 || imported.status == 201, "\(imported.json)")
        #expect(try await app.count("SELECT count(*) FROM pairs") == 2, "a multi-response line is one task, not six pairs")

        // The annotator's view: every response, in the order shown, and nothing else.
        var seen: [String: [String]] = [:]
        for _ in 0..<2 {
            let (status, nextBody) = try app.call("GET", "/api/projects/\(id)/next", annotator)
            #expect(status == 200)
            let assignment = try #require(nextBody["assignment"]?.objectValue)
            #expect(Set(assignment.keys) == ["id", "expires_at", "prompt", "responses"])
            let shown = (assignment["responses"]?.arrayValue ?? []).compactMap(\.stringValue)
            let assignmentID = try #require(assignment["id"]?.intValue)
            // Wrong answers first: a pair's choice, a ranking that misses one, a rewrite past the end.
            let wrong = [
                #"{"choice":"left"}"#, #"{"ranking":[0,1]}"#, #"{"ranking":[0,0,1,2]}"#, #"{"ratings":[{"a":1}]}"#,
                #"{"ranking":[0,1,2,3],"strength":2}"#, #"{"ranking":[0,1,2,3][0,1]}"#,
            ]
            for body in wrong where shown.count == 4 {
                let (bad, error) = try app.submit(annotator, assignment: assignmentID, body)
                #expect(bad == 400, "\(body) → \(bad) \(error)")
                #expect(error["error"]?["message"]?.stringValue?.isEmpty == false)
            }
            seen[assignment["prompt"]?.stringValue ?? ""] = shown
            // Best: the one that says "2", then "9" tied with "15", then "4".
            let position = { (text: String) in Int64(shown.firstIndex(of: text) ?? -1) }
            let body: String
            if shown.count == 4 {
                body =
                    #"{"ranking":[\#(position("2")),[\#(position("9")),\#(position("15"))],\#(position("4"))],"rewrite":{"base":\#(position("2")),"text":"2 is the only even prime."},"duration_ms":1200}"#
            } else {
                body = #"{"ranking":[\#(position("y")),\#(position("x"))]}"#
            }
            let (status2, stored) = try app.submit(annotator, assignment: assignmentID, body)
            #expect(status2 == 201, "\(stored)")
            // The same POST again: the same annotation.
            let (again, replay) = try app.submit(annotator, assignment: assignmentID, body)
            #expect(
                again == 200 && replay == stored, "the first answer (built from what was written) is what is stored: \(replay) != \(stored)"
            )
            // Given back as sent (positions), never the canonical order.
            #expect(stored["annotation"]?["ranking"] == (try JSONValue.parse(Array(body.utf8)))["ranking"])
        }
        #expect(seen.count == 2)
        let db = try app.inspect()
        let rows = try db.query(
            "SELECT p.external_id, n.ranking, n.choice, n.rewrite, n.rewrite_base, n.shown_order FROM annotations n JOIN pairs p ON p.id = n.pair_id ORDER BY p.external_id",
            []
        ) { ($0.string(0), $0.string(1), $0.string(2), $0.optionalString(3), $0.optionalInt(4), $0.optionalString(5)) }
        #expect(rows.count == 2)
        // Canonical: indices into ["2","4","9","15"], whatever the order shown.
        #expect(rows[0].0 == "t1" && rows[0].1 == "[0,[2,3],1]" && rows[0].2 == "A", "response 0 above response 1 → A: \(rows[0])")
        #expect(rows[0].3 == "2 is the only even prime." && rows[0].4 == 0)
        #expect(rows[1].0 == "t2" && rows[1].1 == "[1,0]" && rows[1].2 == "B")

        // Imported judgements: canonical indices; wrong ones named.
        let lines = [
            #"{"task":"t1","annotator":"imp1","ranking":[0,2,3,1]}"#,
            #"{"task":"t1","annotator":"imp2","ranking":[0,1,2,3]}"#,
        ].joined(separator: "\n")
        let ok = try app.call("POST", "/api/projects/\(id)/annotations", admin, lines)
        #expect(ok.status == 200 || ok.status == 201, "\(ok.json)")
        for bad in [
            #"{"task":"t1","annotator":"x","ranking":[0,1,2]}"#, #"{"task":"t1","annotator":"x","choice":"A"}"#,
            #"{"task":"nope","annotator":"x","ranking":[0,1]}"#,
        ] {
            let refused = try app.call("POST", "/api/projects/\(id)/annotations", admin, bad)
            #expect(refused.status == 400 || refused.status == 422, "\(bad): \(refused.status) \(refused.json)")
        }
        // Agreement: Kendall's W over the task with three rankings.
        let agreement = try app.call("GET", "/api/projects/\(id)/agreement", admin)
        #expect(agreement.status == 200)
        #expect(agreement.json["kind"]?.stringValue == "ranking")
        let w = try #require(agreement.json["kendall_w"]?["value"]?.doubleValue)
        #expect(agreement.json["kendall_w"]?["tasks"]?.intValue == 1)
        // (KendallW itself is checked against scipy in KendallWTests.) Ranks (1 = best) by response: ann [1, 4, 2.5, 2.5], imp1 [1, 4, 2, 3], imp2 [1, 2, 3, 4].
        #expect(abs(w - KendallW.coefficient([[1, 4, 2.5, 2.5], [1, 4, 2, 3], [1, 2, 3, 4]])!) < 1e-12)
        #expect(agreement.json["units"]?.intValue == 7, "six implied pairs of t1 and one of t2")
    }

    @Test(arguments: TestEngine.all)
    func ratingTaskRoundTrip(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        defer { Task { await app.stop() } }
        let admin = try await app.user("root", role: .admin)
        let annotator = try await app.user("ann")
        // A rating project needs attributes; a pairwise one refuses them.
        #expect(try app.call("POST", "/api/projects", admin, #"{"name":"r0","kind":"rating"}"#).status == 400)
        #expect(try app.call("POST", "/api/projects", admin, #"{"name":"r0","attributes":["x"]}"#).status == 400)
        #expect(
            try app.call("POST", "/api/projects", admin, #"{"name":"r0","kind":"rating","attributes":["x"],"scale_min":3,"scale_max":1}"#)
                .status == 400)
        let id = try createProject(
            app, admin, #"{"name":"rate","kind":"rating","attributes":["helpfulness","correctness"],"scale_min":0,"scale_max":4}"#)
        _ = try app.call(
            "POST", "/api/projects/\(id)/pairs", admin,
            #"{"id":"t","prompt":"Why is the sky blue?","responses":["Rayleigh scattering.","Because.","It reflects the sea."]}"#)
        // The kind cannot change once there are tasks.
        #expect(try app.call("PATCH", "/api/projects/\(id)", admin, #"{"kind":"ranking"}"#).status == 400)
        let (_, body) = try app.call("GET", "/api/projects/\(id)/next", annotator)
        let assignment = try #require(body["assignment"]?.objectValue)
        let shown = (assignment["responses"]?.arrayValue ?? []).compactMap(\.stringValue)
        let assignmentID = try #require(assignment["id"]?.intValue)
        for wrong in [
            #"{"ratings":[{"helpfulness":1,"correctness":1},{"helpfulness":1,"correctness":1}]}"#,
            #"{"ratings":[{"helpfulness":1},{"helpfulness":1,"correctness":1},{"helpfulness":1,"correctness":1}]}"#,
            #"{"ratings":[{"helpfulness":5,"correctness":1},{"helpfulness":1,"correctness":1},{"helpfulness":1,"correctness":1}]}"#,
            #"{"ratings":[{"helpfulness":1,"correctness":1,"tone":2},{"helpfulness":1,"correctness":1},{"helpfulness":1,"correctness":1}]}"#,
            #"{"ranking":[0,1,2]}"#, #"{"ratings":[{"helpfulness":1.5,"correctness":1}]}"#,
            #"{"ratings":[{"helpfulness":1,"correctness":1},{"helpfulness":1,"correctness":1},{"helpfulness":1,"correctness":1}],"rewrite":{"base":0,"text":"x"}}"#,
        ] {
            let (status, error) = try app.submit(annotator, assignment: assignmentID, wrong)
            #expect(status == 400, "\(wrong) → \(status) \(error)")
        }
        let score: [String: (Int, Int)] = ["Rayleigh scattering.": (4, 4), "Because.": (1, 2), "It reflects the sea.": (2, 0)]
        let ratings = shown.map { #"{"helpfulness":\#(score[$0]!.0),"correctness":\#(score[$0]!.1)}"# }.joined(separator: ",")
        let (status, stored) = try app.submit(annotator, assignment: assignmentID, #"{"ratings":[\#(ratings)]}"#)
        #expect(status == 201, "\(stored)")
        #expect(
            try app.submit(annotator, assignment: assignmentID, #"{"ratings":[\#(ratings)]}"#).1 == stored,
            "the replay reads what was stored")
        let row = try #require(try app.inspect().queryFirst("SELECT ratings, choice FROM annotations", []) { ($0.string(0), $0.string(1)) })
        #expect(row.0 == #"[{"helpfulness":4,"correctness":4},{"helpfulness":1,"correctness":2},{"helpfulness":2,"correctness":0}]"#)
        #expect(row.1 == "A", "mean 4 against 1.5")
        _ = try app.call(
            "POST", "/api/projects/\(id)/annotations", admin,
            #"{"task":"t","annotator":"imp","ratings":[{"helpfulness":3,"correctness":4},{"helpfulness":1,"correctness":1},{"helpfulness":2,"correctness":1}]}"#
        )
        let agreement = try app.call("GET", "/api/projects/\(id)/agreement", admin)
        #expect(agreement.json["kind"]?.stringValue == "rating")
        let helpfulness = agreement.json["per_attribute"]?["helpfulness"]
        #expect(helpfulness?["ratings"]?.intValue == 6)
        // α interval over units (4,3), (1,1), (2,2): a hand check against the definition.
        let expected = try #require(Krippendorff.alpha(units: [[4, 3], [1, 1], [2, 2]], level: .interval))
        #expect(abs((helpfulness?["krippendorff_alpha"]?["interval"]?.doubleValue ?? 0) - expected) < 1e-12)
    }

    @Test(arguments: TestEngine.all)
    func pairwiseRewrite(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        defer { Task { await app.stop() } }
        let admin = try await app.user("root", role: .admin)
        let annotator = try await app.user("ann")
        let id = try createProject(app, admin, #"{"name":"pw","rewrite":true}"#)
        _ = try app.call("POST", "/api/projects/\(id)/pairs", admin, #"{"id":"p","prompt":"q","response_a":"first","response_b":"second"}"#)
        let (_, assignment) = try app.next(annotator, project: id)
        let assignmentID = try #require(assignment?["id"]?.intValue)
        let leftIsA = assignment?["left"]?.stringValue == "first"
        let (status, stored) = try app.submit(
            annotator, assignment: assignmentID, #"{"choice":"left","rewrite":{"base":0,"text":"better"}}"#)
        #expect(status == 201, "\(stored)")
        #expect(stored["annotation"]?["rewrite"]?["base"]?.intValue == 0, "as shown")
        let row = try #require(
            try app.inspect().queryFirst("SELECT rewrite, rewrite_base, choice FROM annotations", []) {
                ($0.string(0), $0.int(1), $0.string(2))
            })
        #expect(row.0 == "better" && row.1 == (leftIsA ? 0 : 1) && row.2 == (leftIsA ? "A" : "B"))
        // Exported: the crowd's pair, and "rewritten > original" with its label source.
        let response = try RawClient(port: app.port).request(
            "GET", "/api/projects/\(id)/export?format=trl&rewrite_pairs=true", headers: ["Authorization": "Bearer \(admin)"])
        #expect(response.status == 200)
        let lines = response.bodyText.split(separator: "\n").compactMap { try? JSONValue.parse(Array($0.utf8)) }
        #expect(lines.count == 2)
        #expect(
            lines.contains {
                $0["chosen"]?.stringValue == "better" && $0["rejected"]?.stringValue == (leftIsA ? "first" : "second")
                    && $0["label_source"]?.stringValue == "rewrite"
            })
    }

    /// Rater quality reads a ranking's implied pairs: an annotator who ranks by the
    /// order on screen (position bias) is flagged with that reason; honest ones are not.
    @Test(arguments: TestEngine.all)
    func raterSignalsCoverRankings(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        defer { Task { await app.stop() } }
        let admin = try await app.user("root", role: .admin)
        let id = try createProject(app, admin, #"{"name":"rank","kind":"ranking","overlap":5}"#)
        // Response "q0 …" is best, then q1, q2, q3 (the honest order is by index).
        let lines = (0..<40).map {
            #"{"id":"t\#($0)","prompt":"task \#($0)","responses":["q0 \#($0)","q1 \#($0)","q2 \#($0)","q3 \#($0)"]}"#
        }
        _ = try app.call("POST", "/api/projects/\(id)/pairs", admin, lines.joined(separator: "\n"))
        var tokens: [String: String] = [:]
        for name in ["h1", "h2", "h3", "h4", "lazy"] { tokens[name] = try await app.user(name) }
        for name in ["h1", "h2", "h3", "h4", "lazy"] {
            for _ in 0..<40 {
                let (status, body) = try app.call("GET", "/api/projects/\(id)/next", tokens[name]!)
                guard status == 200, let assignment = body["assignment"], let assignmentID = assignment["id"]?.intValue else { break }
                let shown = (assignment["responses"]?.arrayValue ?? []).compactMap(\.stringValue)
                let ranking: [Int] =
                    name == "lazy"
                    ? Array(0..<shown.count)
                    : shown.indices.sorted { shown[$0] < shown[$1] }
                let (posted, _) = try app.submit(tokens[name]!, assignment: assignmentID, #"{"ranking":\#(ranking),"duration_ms":9000}"#)
                #expect(posted == 201)
            }
        }
        let (status, report) = try app.call("GET", "/api/projects/\(id)/raters", admin)
        #expect(status == 200)
        let raters = report["raters"]?.arrayValue ?? []
        let lazy = try #require(raters.first { $0["annotator"]?.stringValue == "lazy" })
        #expect(lazy["status"]?.stringValue == "flagged", "\(lazy)")
        #expect(lazy["reasons"]?.arrayValue?.contains { $0["signal"]?.stringValue == "position" } == true, "\(lazy["reasons"] ?? .null)")
        #expect(lazy["annotations"]?.intValue == 240, "40 rankings of 4: six implied pairs each")
        for honest in raters where honest["annotator"]?.stringValue != "lazy" {
            #expect(honest["status"]?.stringValue == "ok", "\(honest)")
        }
    }
}
