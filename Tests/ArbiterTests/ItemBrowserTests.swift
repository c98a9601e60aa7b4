import Agreement
@testable import Arbiter
import JSON
import Storage
import Testing
import TestSupport

/// The item browser (search, filters, sorts, keyset pages), a pair's detail, and
/// reviewers' final labels with their provenance in exports; on both engines.
@Suite struct ItemBrowserTests {
    static let choices = ["A", "B", "tie", "both_bad"]

    /// What the seeded crowd said: pair index → each rater's choice.
    struct Crowd {
        var votes: [[String]] = []
        var raters: [[String]] = []
    }

    /// 40 pairs: even ones about apples, odd about oranges; every third from
    /// llama-3-8b; every fourth from reddit; the last is gold. Pair i has i % 5
    /// judgements from raters r0…r3 with choices in a fixed pattern.
    static func seed(_ app: TestApp, indexed: Bool = true) async throws -> (Project, Crowd) {
        var crowd = Crowd()
        var pairLines: [String] = []
        var annotationLines: [String] = []
        for i in 0..<40 {
            let topic = i % 2 == 0 ? "apples" : "oranges"
            let model = i % 3 == 0 ? "llama-3-8b" : "gpt-4o"
            let source = i % 4 == 0 ? "reddit" : "forum"
            let gold = i == 39 ? #","gold":"A""# : ""
            pairLines.append(
                #"{"id":"item-\#(i)","prompt":"Question \#(i) about \#(topic)?","response_a":"left \#(i)","response_b":"right \#(i)","model_a":"\#(model)","model_b":"mistral","metadata":{"source":"\#(source)"}\#(gold)}"#
            )
            var votes: [String] = []
            var raters: [String] = []
            for r in 0..<(i % 5) {
                let choice = choices[(i * i + r * (i % 3 + 1)) % 5 == 4 ? 0 : (i * i + r * (i % 3 + 1)) % 5 % 4]
                votes.append(choice)
                raters.append("r\(r)")
                annotationLines.append(#"{"pair":"item-\#(i)","annotator":"r\#(r)","choice":"\#(choice)"}"#)
            }
            crowd.votes.append(votes)
            crowd.raters.append(raters)
        }
        let (pairText, annotationText) = (pairLines.joined(separator: "\n"), annotationLines.joined(separator: "\n"))
        let project = try await app.seed { db in
            let project = try Projects.create(db, name: "browse", settings: ProjectSettings())
            var pairs = JSONLReader(bytes: Array(pairText.utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &pairs, options: ImportOptions())
            var annotations = JSONLReader(bytes: Array(annotationText.utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &annotations, options: ImportOptions())
            return project
        }
        if indexed { try await app.app.searchIndexer.catchUp() }
        return (project, crowd)
    }

    /// The entropy the browser should show: the reference function, rounded as stored.
    static func disagreement(_ votes: [String]) -> Double {
        (Disagreement.entropy(votes.map { choices.firstIndex(of: $0)! }) * 10_000).rounded() / 10_000
    }

    /// Every page of a query, following `next`.
    static func walk(_ app: TestApp, _ token: String, project: Int, _ query: String, limit: Int = 7) throws -> [String] {
        var ids: [String] = []
        var after = ""
        for _ in 0..<100 {
            let (status, json) = try app.call(
                "GET", "/api/projects/\(project)/pairs?limit=\(limit)\(query.isEmpty ? "" : "&" + query)\(after)", token)
            #expect(status == 200, "\(query)\(after): \(json.jsonText)")
            ids += json["pairs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            guard let next = json["next"]?.stringValue else { return ids }
            after = "&after=" + next.percentEncodedForQuery
        }
        Issue.record("more than 100 pages for \(query)")
        return ids
    }

    @Test(arguments: TestEngine.all)
    func talliesFollowJudgementsAndReports(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let (project, crowd) = try await Self.seed(app)
        let reviewer = try await app.user("rev", role: .reviewer)
        for i in [0, 3, 4, 7, 9, 39] {
            let (status, json) = try app.call("GET", "/api/projects/\(project.id)/pairs/item-\(i)", reviewer)
            #expect(status == 200)
            let votes = crowd.votes[i]
            for choice in Self.choices {
                #expect(json["pair"]?["votes"]?[choice]?.intValue == Int64(votes.filter { $0 == choice }.count), "item-\(i) \(choice)")
            }
            #expect(json["pair"]?["judgements"]?.intValue == Int64(votes.count))
            #expect(json["pair"]?["disagreement"]?.doubleValue == Self.disagreement(votes), "item-\(i): \(votes)")
            #expect(json["judgements"]?.arrayValue?.map { $0["annotator"]?.stringValue ?? "" } == crowd.raters[i])
        }
        #expect(try app.call("GET", "/api/projects/\(project.id)/pairs/item-39", reviewer).json["pair"]?["gold"] == "A")

        // A live judgement and a report move the tallies at once.
        let annotator = try await app.user("ann")
        var judged: String?
        while judged == nil {
            let (status, assignment) = try app.next(annotator, project: project.id)
            try #require(status == 200)
            let id = try #require(assignment?["id"]?.intValue)
            if assignment?["kind"] == "normal" {
                judged = assignment?["pair_id"]?.stringValue
                #expect(
                    try app.call("POST", "/api/assignments/\(id)/report", annotator, #"{"reason":"the answer is cut off"}"#).status == 201)
            }
            #expect(try app.submit(annotator, assignment: id, #"{"choice":"left"}"#).0 == 201)
        }
        let pair = try #require(judged)
        let index = Int(pair.dropFirst("item-".count))!
        let detail = try app.call("GET", "/api/projects/\(project.id)/pairs/\(pair)", reviewer).json
        #expect(detail["pair"]?["judgements"]?.intValue == Int64(crowd.votes[index].count + 1))
        #expect(detail["reports"]?.arrayValue?.first?["reason"] == "the answer is cut off")
        #expect(detail["judgements"]?.arrayValue?.last?["annotator"] == "ann")
        let reported = try Self.walk(app, reviewer, project: project.id, "reported=true")
        #expect(reported == [pair])
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func everyOrderAndFilterPagesThroughExactlyTheMatches(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let (project, crowd) = try await Self.seed(app, indexed: false)
        let reviewer = try await app.user("rev", role: .reviewer)
        // Imports queue their pairs for the search index; until it catches up a
        // search says so.
        let early = try app.call("GET", "/api/projects/\(project.id)/pairs?q=apples", reviewer).json
        if early["search_pending"] == true {
            #expect(early["pairs"]?.arrayValue?.count ?? 0 < 20)
        }
        try await app.app.searchIndexer.catchUp()
        #expect(try app.call("GET", "/api/projects/\(project.id)/pairs?q=apples", reviewer).json["search_pending"] == false)
        #expect(try app.call("GET", "/api/projects/\(project.id)/pairs", reviewer).json["search_pending"] == nil, "only searches say")
        let all = Array(0..<40)
        let n = { (i: Int) in crowd.votes[i].count }
        let d = { (i: Int) in Self.disagreement(crowd.votes[i]) }
        func names(_ indices: [Int]) -> [String] { indices.map { "item-\($0)" } }
        // Expected orders: by key then id (pairs were imported in index order, so id order is index order).
        let cases: [(String, [Int])] = [
            ("", all),
            ("sort=-id", all.reversed()),
            ("sort=judgements", all.sorted { (n($0), $0) < (n($1), $1) }),
            ("sort=-judgements", all.sorted { (n($0), $0) > (n($1), $1) }),
            ("sort=disagreement", all.sorted { (d($0), $0) < (d($1), $1) }),
            ("sort=-disagreement", all.sorted { (d($0), $0) > (d($1), $1) }),
            ("state=unjudged", all.filter { n($0) == 0 }),
            ("state=in_progress", all.filter { n($0) > 0 && n($0) < 3 }),
            ("state=complete&sort=-disagreement", all.filter { n($0) >= 3 }.sorted { (d($0), $0) > (d($1), $1) }),
            ("min_judgements=2&max_judgements=3", all.filter { (2...3).contains(n($0)) }),
            ("min_disagreement=1", all.filter { d($0) >= 1 }),
            ("gold=true", [39]),
            ("gold=false&sort=-judgements", all.filter { $0 != 39 }.sorted { (n($0), $0) > (n($1), $1) }),
            ("raters=r3", all.filter { crowd.raters[$0].contains("r3") }),
            ("raters=r2,r3&sort=-id", all.filter { crowd.raters[$0].contains("r2") }.reversed()),
            ("q=apples", all.filter { $0 % 2 == 0 }),
            ("q=LLAMA", all.filter { $0 % 3 == 0 }),
            ("q=reddit&sort=-id", all.filter { $0 % 4 == 0 }.reversed()),
            ("q=apples%20llama&min_judgements=1", all.filter { $0 % 6 == 0 && n($0) >= 1 }),
            ("q=item-17", [17]),
            ("q=apples&sort=-disagreement", all.filter { $0 % 2 == 0 }.sorted { (d($0), $0) > (d($1), $1) }),
            ("q=llama&sort=judgements&min_judgements=1", all.filter { $0 % 3 == 0 && n($0) >= 1 }.sorted { (n($0), $0) < (n($1), $1) }),
            ("q=%22apples%22%3B%20DROP%20TABLE%20pairs", []),
            // Words match as prefixes: "appl" finds apples, "orang llam" the odd llama pairs.
            ("q=appl", all.filter { $0 % 2 == 0 }),
            ("q=orang%20llam&sort=-id", all.filter { $0 % 2 == 1 && $0 % 3 == 0 }.reversed()),
            ("q=reddi&sort=-disagreement", all.filter { $0 % 4 == 0 }.sorted { (d($0), $0) > (d($1), $1) }),
            ("labelled=false&state=unjudged", all.filter { n($0) == 0 }),
        ]
        for (query, expected) in cases {
            #expect(try Self.walk(app, reviewer, project: project.id, query) == names(expected), "\(query)")
        }
        #expect(try Self.walk(app, reviewer, project: project.id, "sort=-disagreement", limit: 200) == names(cases[5].1), "one page")
        #expect(try await app.count("SELECT count(*) FROM pairs") == 40, "the hostile search changed nothing")
        // A pair deleted (as a discarded import's are) leaves the index with it,
        // and a pair added later joins it.
        try await app.seed { db in _ = try db.run("DELETE FROM pairs WHERE external_id = 'item-2'") }
        try await app.seed { db in
            var reader = JSONLReader(bytes: Array(#"{"id":"late-1","prompt":"apples again","response_a":"x","response_b":"y"}"#.utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
        }
        try await app.app.searchIndexer.catchUp()
        #expect(try Self.walk(app, reviewer, project: project.id, "q=apples") == names(all.filter { $0 % 2 == 0 && $0 != 2 }) + ["late-1"])

        // A window smaller than the matches' spread: pages come back short, say so,
        // and following `next` still finds every match exactly once.
        let sparse = try await app.app.store.pool.read { db in
            var query = PairBrowser.Query()
            query.gold = false
            query.minJudgements = 4
            query.sort = .disagreement
            query.limit = 50
            query.window = 6
            var pages: [PairBrowser.Page] = []
            while true {
                let page = try PairBrowser.page(db, projectID: project.id, query: query)
                pages.append(page)
                guard let next = page.next, pages.count < 50 else { return pages }
                query.after = next
            }
        }
        #expect(sparse.contains { !$0.complete && $0.examined == 6 })
        // A search ordered by a key orders all its matches, so it refuses more than a window of them.
        let tooMany = await #expect(throws: ValidationError.self) {
            try await app.app.store.pool.read { db in
                var query = PairBrowser.Query()
                query.words = ["apples"]
                query.sort = .disagreementDescending
                query.searchSortLimit = 6
                return try PairBrowser.page(db, projectID: project.id, query: query).pairs.count
            }
        }
        #expect(tooMany?.message.contains("narrow the search") == true)
        #expect(
            sparse.flatMap { $0.pairs.map(\.externalID) }
                == names(all.filter { n($0) >= 4 && $0 != 39 }.sorted { (d($0), $0) < (d($1), $1) }))
        // A prefix in many pairs is walked in id order on PostgreSQL (here "many"
        // is 3 of the first 10): the same pages, in every order, as through the index.
        for (words, sort) in [(["appl*"], PairBrowser.Sort.id), (["appl*"], .idDescending), (["reddi*"], .disagreementDescending)] {
            let walked = try await app.app.store.pool.read { db -> [[String]] in
                var results: [[String]] = []
                for dense in [false, true] {
                    var query = PairBrowser.Query()
                    query.words = words
                    query.sort = sort
                    query.limit = 3
                    if dense { (query.densePrefixMatches, query.prefixProbe) = (3, 10) }
                    var seen: [String] = []
                    while true {
                        let page = try PairBrowser.page(db, projectID: project.id, query: query)
                        seen += page.pairs.map(\.externalID)
                        guard let next = page.next, seen.count < 100 else { break }
                        query.after = next
                    }
                    results.append(seen)
                }
                return results
            }
            #expect(walked[0] == walked[1] && !walked[0].isEmpty, "\(words) \(sort): \(walked)")
        }
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func badQueriesAreRefusedWithTheParameterNamed(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let (project, _) = try await Self.seed(app)
        let reviewer = try await app.user("rev", role: .reviewer)
        for (query, named) in [
            ("colour=red", "colour"), ("sort=size", "sort"), ("sort=disagreement&after=12", "after"), ("after=x", "after"),
            ("sort=judgements&after=1e300~5", "after"), ("sort=-disagreement&after=nan~5", "after"), ("after=-3", "after"),
            ("limit=0", "limit"), ("limit=201", "limit"), ("min_disagreement=2.5", "min_disagreement"),
            ("min_judgements=-1", "min_judgements"), ("gold=yes", "gold"), ("state=done", "state"), ("raters=nobody", "raters"),
            ("q=" + String(repeating: "a", count: 600), "q"), ("q=%3D%3D", "q"), ("q=%22*%22", "q"),
        ] {
            let (status, json) = try app.call("GET", "/api/projects/\(project.id)/pairs?\(query)", reviewer)
            #expect(status == 400, "\(query)")
            #expect(json["error"]?["message"]?.stringValue?.hasPrefix(named) == true, "\(query): \(json.jsonText)")
        }
        #expect(try app.call("GET", "/api/projects/999/pairs", reviewer).status == 404)
        #expect(try app.call("GET", "/api/projects/\(project.id)/pairs/no-such-pair", reviewer).status == 404)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func finalLabelsAreReviewersApartFromAgreementAndExportedWithTheirSource(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let (project, crowd) = try await Self.seed(app)
        let reviewer = try await app.user("rev", role: .reviewer)
        let annotator = try await app.user("ann")
        let base = "/api/projects/\(project.id)/pairs"
        // Annotators see none of it.
        for (method, path, body) in [
            ("GET", base, nil), ("GET", base + "/item-14", nil), ("PUT", base + "/item-14/label", #"{"label":"A"}"#),
            ("DELETE", base + "/item-14/label", nil),
        ] as [(String, String, String?)] {
            #expect(try app.call(method, path, annotator, body).status == 403, "\(method) \(path)")
        }
        let agreementBefore = try app.call("GET", "/api/projects/\(project.id)/agreement", reviewer).json
        let trlBefore = try await Self.export(app, project: project)

        // item-14: four judgements; overrule the crowd's plurality with the other side.
        let crowdFourteen = try #require(try app.call("GET", base + "/item-14", reviewer).json["pair"]?["crowd"]?.stringValue)
        #expect(["A", "B"].contains(crowdFourteen), "\(crowd.votes[14])")
        let overrule = crowdFourteen == "A" ? "B" : "A"
        let (status, saved) = try app.call(
            "PUT", base + "/item-14/label", reviewer, #"{"label":"\#(overrule)","note":"the other answer is wrong"}"#)
        #expect(status == 200)
        #expect(saved["final_label"]?["label"]?.stringValue == overrule)
        #expect(saved["final_label"]?["crowd"]?.stringValue == crowdFourteen)
        #expect(saved["final_label"]?["reviewer"] == "rev")
        // item-0 has no judgements at all: a reviewer's label alone exports it.
        #expect(try app.call("PUT", base + "/item-0/label", reviewer, #"{"label":"B"}"#).status == 200)
        // item-1 (one judgement): a final tie drops it from preference exports.
        #expect(try app.call("PUT", base + "/item-1/label", reviewer, #"{"label":"tie"}"#).status == 200)
        for body in [#"{"label":"left"}"#, #"{}"#, #"{"label":"A","why":"x"}"#, #"{"label":"A","note":7}"#] {
            #expect(try app.call("PUT", base + "/item-14/label", reviewer, body).status == 400, "\(body)")
        }
        #expect(try app.call("PUT", base + "/nope/label", reviewer, #"{"label":"A"}"#).status == 404)
        #expect(try Self.walk(app, reviewer, project: project.id, "labelled=true") == ["item-0", "item-1", "item-14"])
        let detail = try app.call("GET", base + "/item-14", reviewer).json
        #expect(detail["final_label"]?["note"] == "the other answer is wrong")
        #expect(detail["judgements"]?.arrayValue?.count == crowd.votes[14].count, "a label is not a judgement")

        // Agreement does not count labels; a settled pair is no longer listed as contested.
        func withoutContested(_ json: JSONValue) -> JSONValue {
            guard case .object(var object) = json else { return json }
            object["contested_pairs"] = nil
            return .object(object)
        }
        let agreementAfter = try app.call("GET", "/api/projects/\(project.id)/agreement", reviewer).json
        #expect(withoutContested(agreementAfter) == withoutContested(agreementBefore))
        #expect(agreementAfter["contested_pairs"]?.arrayValue?.contains { $0["pair_id"] == "item-14" } == false)
        // The export uses them and says whose each row is.
        let trl = try await Self.export(app, project: project)
        let four = try #require(trl.rows.first { $0["prompt"]?.stringValue?.hasPrefix("Question 14 ") == true })
        #expect(four["label_source"] == "reviewer")
        #expect(four["chosen"]?.stringValue == (overrule == "A" ? "left 14" : "right 14"))
        #expect(trl.rows.first { $0["prompt"]?.stringValue?.hasPrefix("Question 0 ") == true }?["chosen"] == "right 0")
        #expect(!trl.rows.contains { $0["prompt"]?.stringValue?.hasPrefix("Question 1 ") == true })
        #expect(trl.rows.filter { $0["label_source"] == "reviewer" }.count == 2)
        #expect(trl.rows.filter { $0["label_source"] == "crowd" }.count == trl.rows.count - 3, "item-39 is gold")
        #expect(trl.manifest["counts"]?["label_sources"] == ["crowd": .int(Int64(trl.rows.count - 3)), "gold": 1, "reviewer": 2])
        #expect(trl.manifest["counts"]?["dropped"]?["reviewer_tie"] == 1)
        #expect(
            trlBefore.rows.filter { $0["label_source"] != "crowd" }
                == trlBefore.rows.filter { $0["prompt"]?.stringValue?.hasPrefix("Question 39 ") == true })

        // Audited under the reviewer's name; clearing gives the crowd its say back.
        let audit = try await app.count("SELECT count(*) FROM audit_log WHERE action = 'final_label_set'")
        #expect(audit == 3)
        #expect(try app.call("DELETE", base + "/item-14/label", reviewer).status == 204)
        #expect(try app.call("DELETE", base + "/item-14/label", reviewer).status == 404)
        #expect(try app.call("GET", base + "/item-14", reviewer).json["final_label"] == .null)
        await app.stop()
    }

    /// The item page says what the export writes: the same raters left out, the
    /// same (weighted) decision, the left-out judgements shown apart with their
    /// reason, and a gold pair labelled by its key whatever the crowd said.
    @Test(arguments: TestEngine.all)
    func eachPairShowsTheDecisionTheExportWrites(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let (project, crowd) = try await Self.seed(app)
        let admin = try await app.user("boss", role: .admin)
        let base = "/api/projects/\(project.id)/pairs"
        #expect(
            try app.call("POST", "/api/projects/\(project.id)/raters/r0/status", admin, #"{"status":"quarantined","comment":"test"}"#)
                .status == 200)
        let response = try app.client().request(
            "GET", "/api/projects/\(project.id)/export?format=trl", headers: ["Authorization": "Bearer \(admin)"])
        #expect(response.status == 200)
        let rows = try response.body.split(separator: 0x0A).map { try JSONValue.parse(String(decoding: $0, as: UTF8.self)) }
        var exported = 0
        for i in 0..<40 {
            let detail = try app.call("GET", base + "/item-\(i)/decision", admin).json
            let decision = try #require(detail["export_decision"])
            let row = rows.first { $0["prompt"]?.stringValue?.hasPrefix("Question \(i) ") == true }
            if let label = decision["label"]?.stringValue {
                exported += 1
                #expect(row?["chosen"]?.stringValue == (label == "A" ? "left \(i)" : "right \(i)"), "item-\(i)")
                #expect(row?["label_source"] == decision["label_source"], "item-\(i)")
            } else {
                #expect(row == nil, "item-\(i): \(decision)")
                #expect(decision["dropped"]?.stringValue != nil)
            }
            // r0's vote is shown apart, the others counted.
            var counted = ["A": 0, "B": 0, "tie": 0, "both_bad": 0]
            for (rater, vote) in zip(crowd.raters[i], crowd.votes[i]) where rater != "r0" { counted[vote, default: 0] += 1 }
            #expect(
                decision["counted"]
                    == .object(JSONObject(counted.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int(Int64($0.value))) })), "item-\(i)"
            )
            let pairJudgements = try app.call("GET", base + "/item-\(i)", admin).json["judgements"]?.arrayValue ?? []
            let decided = detail["judgements"]?.arrayValue ?? []
            #expect(decided.count == pairJudgements.count)
            for (judgement, entry) in zip(pairJudgements, decided) {
                let quarantined = judgement["annotator"] == "r0"
                #expect(entry["id"] == judgement["id"])
                #expect(entry["counted"] == .bool(!quarantined))
                #expect(entry["excluded_reason"] == (quarantined ? "quarantined" : .null))
                #expect(entry["rater_status"] == (quarantined ? "quarantined" : "ok"))
            }
            if crowd.votes[i].isEmpty || crowd.raters[i] == ["r0"] {
                #expect(decision["dropped"] == (i == 39 ? .null : "no_counted_judgements"), "item-\(i)")
            }
        }
        #expect(exported == rows.count)
        // item-39 is gold A: its key, whatever the votes say (B, tie, both bad, A).
        let gold = try app.call("GET", base + "/item-39/decision", admin).json["export_decision"]
        #expect(gold?["label"] == "A")
        #expect(gold?["label_source"] == "gold")
        // A final label overrules the key, and the page follows.
        #expect(try app.call("PUT", base + "/item-39/label", admin, #"{"label":"B"}"#).status == 200)
        let relabelled = try app.call("GET", base + "/item-39/decision", admin).json["export_decision"]
        // The project-wide part is kept per state of the project: lifting r0's
        // quarantine (or a new judgement) is seen at once.
        #expect(
            try app.call("POST", "/api/projects/\(project.id)/raters/r0/status", admin, #"{"status":"ok","comment":"back"}"#).status == 200)
        let lifted = try app.call("GET", base + "/item-38/decision", admin).json
        #expect(lifted["judgements"]?.arrayValue?.allSatisfy { $0["counted"] == true } == true, "\(lifted)")
        // While raters judge, the decisions are kept a minute and say how many
        // judgements came since; after that they are computed again.
        #expect(try app.call("GET", base + "/item-38/decision", admin).json["export_decision"]?["judgements_since"] == 0)
        try await app.importJudgements([#"{"pair":"item-38","annotator":"r9","choice":"A"}"#], into: project)
        let since = try app.call("GET", base + "/item-38/decision", admin).json
        #expect(since["export_decision"]?["judgements_since"] == 1, "\(since)")
        #expect(since["judgements"]?.arrayValue?.count == 4, "the pair's own judgements are read live")
        app.clock.advance(seconds: 61)
        #expect(try app.call("GET", base + "/item-38/decision", admin).json["export_decision"]?["judgements_since"] == 0)
        // A ranking project has no pairwise decision to show.
        let ranking = try await app.project(pairs: 0, name: "ranked") { $0.kind = .ranking }
        #expect(try app.call("GET", "/api/projects/\(ranking.id)/pairs/item-1/decision", admin).status == 404)
        #expect(relabelled?["label"] == "B")
        #expect(relabelled?["label_source"] == "reviewer")
        await app.stop()
    }

    /// A TRL export through the exporter: its rows and manifest.
    static func export(_ app: TestApp, project: Project) async throws -> (rows: [JSONValue], manifest: JSONValue) {
        let out = app.directory.path + "/export-\(UInt64.random(in: 0...UInt64.max)).jsonl"
        var options = ExportOptions()
        options.format = .trl
        options.aggregate = .majority
        let chosen = options
        let manifest = try await app.app.store.pool.read { db in try Exporter.run(db, project: project, options: chosen, out: out, now: 0) }
        let rows = try (TextFile.read(out) ?? "").split(separator: "\n").map { try JSONValue.parse(String($0)) }
        return (rows, manifest.json)
    }
}

extension String {
    /// Percent-encodes everything but unreserved characters, for a query value.
    var percentEncodedForQuery: String {
        var out = ""
        for byte in utf8 {
            if (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || [0x2D, 0x2E, 0x5F, 0x7E].contains(byte)
            {
                out.append(Character(UnicodeScalar(byte)))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
