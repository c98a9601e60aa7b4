@testable import Agreement
@testable import Arbiter
import JSON
import ModelEndpoints
import Storage
import Testing
import TestSupport

/// Model judges: the prompt and the reading of an answer (untrusted text), the
/// judge–human table against worked numbers, and whole runs through the server
/// against planted judges on a fake OpenAI-compatible endpoint — consistent,
/// position-biased, refusing, malformed, failing, slow — on both engines.
@Suite struct JudgeTests {
    // MARK: The prompt and the answer

    @Test func aResponseIsInsertedAsWrittenEvenWhenItLooksLikeAPlaceholder() {
        let prompt = JudgePrompt(template: "Q: {prompt}\n1: {response_1}\n2: {response_2}\n{unknown}")
        let text = prompt.render(prompt: .text("say {response_2}"), first: "I am {response_2} and {prompt}", second: "two")
        #expect(text == "Q: say {response_2}\n1: I am {response_2} and {prompt}\n2: two\n{unknown}")
    }

    @Test func aMessageListPromptIsShownRoleByRole() {
        let prompt = JudgePrompt(template: "{prompt}|{response_1}|{response_2}")
        let text = prompt.render(
            prompt: .messages([.init(role: "system", content: "be brief"), .init(role: "user", content: "hi")]), first: "a", second: "b")
        #expect(text == "system: be brief\n\nuser: hi|a|b")
    }

    @Test func templatesMustHaveEveryPlaceholderAndAReasonableSize() {
        #expect(throws: ValidationError("template: must contain {response_2}")) {
            try JudgePrompt.validate("{prompt} {response_1}")
        }
        #expect(throws: ValidationError.self) {
            try JudgePrompt.validate(String(repeating: "x", count: 20_001) + "{prompt}{response_1}{response_2}")
        }
        #expect((try? JudgePrompt.validate(JudgePrompt.defaultTemplate)) != nil)
    }

    @Test func verdictLinesAreReadInTheirUsualShapes() {
        let cases: [(String, JudgePrompt.Answer)] = [
            ("Reasons.\nVerdict: 1", .first),
            ("**Verdict:** Response 2", .second),
            ("verdict = tie", .tie),
            ("  ### VERDICT: [[2]]  ", .second),
            ("Verdict: \"1\".", .first),
            ("Verdict: 2\nOn reflection the first is better.\nVerdict: 1", .first),
        ]
        for (text, expected) in cases { #expect(JudgePrompt.read(text).answer == expected, "\(text)") }
    }

    @Test func hostileOrUselessAnswersAreUnreadableNeverGuessed() {
        let cases = [
            "I'm sorry, but I can't help with that.",
            "Verdict: 1 or 2, hard to say",
            "Verdict: 3",
            "{\"verdict\": 1}",
            "The response said \"Verdict: 1\" but I disagree",
            "Verdict:",
            "",
            String(repeating: "Verdict ", count: 10_000),
        ]
        for text in cases { #expect(JudgePrompt.read(text).answer == .unreadable, "\(text.prefix(60))") }
    }

    @Test func aLongRationaleIsClippedOnACharacterBoundary() {
        let answer = String(repeating: "é", count: 5_000) + "\nVerdict: 2"
        let (verdict, rationale) = JudgePrompt.read(answer)
        #expect(verdict == .second)
        #expect(rationale.utf8.count <= JudgePrompt.maxRationaleBytes)
        #expect(rationale.hasSuffix("…"))
    }

    @Test func twoAnswersMakeOneCanonicalVerdict() {
        // Asked with B shown first, "Response 1" means B.
        #expect(JudgeVerdict.canonical(.first, swapped: true) == .b)
        #expect(JudgeVerdict.canonical(.second, swapped: true) == .a)
        #expect(JudgeVerdict.canonical(.first, swapped: false) == .a)
        func verdict(_ first: Choice?, _ second: Choice?) -> Choice? {
            JudgeVerdict(pairID: 1, firstSwapped: false, firstAnswer: first, secondAnswer: second, rationale: "").choice
        }
        #expect(verdict(.a, .a) == .a)
        #expect(verdict(.a, .b) == .tie, "the order decided, not the responses")
        #expect(verdict(.tie, .b) == .tie)
        #expect(verdict(nil, .b) == nil)
    }

    // MARK: The judge–human table

    /// Wilson score intervals from Newcombe (1998), "Two-sided confidence intervals
    /// for the single proportion", Statistics in Medicine 17, Table I (method 3).
    @Test func wilsonIntervalsMatchNewcombesTable() {
        let published: [(Int, Int, Double, Double)] = [
            (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0, 0.1611), (1, 29, 0.0061, 0.1718),
        ]
        for (right, n, low, high) in published {
            let interval = JudgeMeasures.Rate.wilson(right, n)
            #expect(abs(interval.low - low) < 0.00006 && abs(interval.high - high) < 0.00006, "\(right)/\(n): \(interval)")
        }
    }

    @Test func theTableCountsByHand() {
        typealias Item = JudgeMeasures.Item
        let items = [
            // People 3–0 for A; the judge says A twice (first asked A-first): agrees; shown first once of two.
            Item(peopleA: 3, peopleB: 0, gold: 0, category: "math", first: 0, second: 0, firstSwapped: false),
            // People 2–1 for B; the judge follows the order (asked B-first: B then A): inconsistent → tie.
            Item(peopleA: 1, peopleB: 2, gold: nil, category: "math", first: 1, second: 0, firstSwapped: true),
            // People 1–1: no majority; the judge says B twice; gold B.
            Item(peopleA: 1, peopleB: 1, gold: 1, category: "code", first: 1, second: 1, firstSwapped: false),
            // People 2–0 for A; the judge says B twice: disagrees.
            Item(peopleA: 2, peopleB: 0, gold: nil, category: nil, first: 1, second: 1, firstSwapped: true),
            // Unreadable.
            Item(peopleA: 2, peopleB: 0, gold: 0, category: nil, first: nil, second: 0, firstSwapped: false),
        ]
        let m = JudgeMeasures.measure(items)
        #expect(m.verdicts == 5 && m.unreadable == 1 && m.inconsistent == 1)
        // Decisive answers: 2 + 2 + 2 + 2 + 1 = 9; shown first: item 1 one (A asked first, then second
        // question shows B first: A not shown first) → 1; item 2 both (B first, then A first) → 2;
        // item 3 (B: second asked shows B first) → 1; item 4 (B shown first in the first question) → 1;
        // item 5 (only the second answer, A, asked with B first) → 0.
        #expect(m.shownFirst == .init(right: 5, n: 9))
        #expect(m.decisiveWherePeopleAgree == .init(right: 2, n: 3))
        #expect(m.withPeople == .init(right: 1, n: 2))
        #expect(m.gold == .init(right: 2, n: 2))
        #expect(m.byCategory.map(\.category) == ["math", "code"])
        #expect(m.byCategory[0].withPeople == .init(right: 1, n: 1))
        // Each person against the majority of the others (≥ 2 others, no draw):
        // [A,A,A] → 3 of 3; [A,B,B] → the A vote sees B,B (wrong), each B sees A,B (draw).
        #expect(JudgeMeasures.peopleWithPeople([[0, 0, 0], [0, 1, 1]]) == .init(right: 3, n: 4))
    }

    // MARK: Runs through the server

    static let names = ["good", "first", "random", "refuse", "malformed", "down", "slow"]

    static func pool(_ fake: FakeOpenAIServer) -> ModelPool {
        let models = ["judge-good", "judge-first", "judge-random", "judge-refuse", "judge-malformed", "fail", "slow"]
        return ModelPool(
            endpoints: zip(names, models).map { name, model in
                var endpoint = ModelEndpoint(name: name, baseURL: fake.baseURL, model: model)
                endpoint.concurrency = 4
                endpoint.idleTimeout = 2
                return endpoint
            })
    }

    /// 40 pairs, the better response marked "[better]" (A on even pairs), the
    /// first ten gold, and three people who agree with the truth (one slips on 4).
    static func judgedProject(_ app: TestApp) async throws -> Project {
        let project = try await app.seed { db in
            let project = try Projects.create(db, name: "judged", settings: ProjectSettings())
            let lines = (0..<40).map { i in
                let better = "answer \(i) [better]", worse = "answer \(i) that misses the point"
                let (a, b) = i % 2 == 0 ? (better, worse) : (worse, better)
                let gold = i < 10 ? #","gold":"\#(i % 2 == 0 ? "A" : "B")""# : ""
                return
                    #"{"id":"p\#(i)","prompt":"question \#(i)","response_a":"\#(a)","response_b":"\#(b)","metadata":{"category":"\#(i % 4 == 0 ? "math" : "chat")"}\#(gold)}"#
            }
            var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
            return project
        }
        var judgements: [String] = []
        for person in ["ada", "bo", "cy"] {
            for i in 0..<40 {
                var right = i % 2 == 0 ? "A" : "B"
                if person == "cy" && i % 10 == 3 { right = right == "A" ? "B" : "A" }
                judgements.append(#"{"pair":"p\#(i)","annotator":"\#(person)","choice":"\#(right)","shown_swapped":\#(i % 3 == 0)}"#)
            }
        }
        try await app.importJudgements(judgements, into: project)
        return project
    }

    /// A project of `count` pairs whose better response is marked "[better]" (A on
    /// even pairs); from `unmarkedFrom` on, neither is (a judge calls those a tie).
    static func markedProject(
        _ app: TestApp, name: String, count: Int, unmarkedFrom: Int? = nil, _ configure: @escaping @Sendable (inout ProjectSettings) -> Void
    ) async throws -> Project {
        try await app.seed { db in
            var settings = ProjectSettings()
            configure(&settings)
            let project = try Projects.create(db, name: name, settings: settings)
            let lines = (0..<count).map { i in
                let better = "answer \(i) [better]", worse = "answer \(i) that misses the point"
                let (a, b) =
                    i >= (unmarkedFrom ?? count) ? ("answer \(i) one", "answer \(i) other") : i % 2 == 0 ? (better, worse) : (worse, better)
                return #"{"id":"p\#(i)","prompt":"question \#(i)","response_a":"\#(a)","response_b":"\#(b)"}"#
            }
            var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
            return project
        }
    }

    /// Adds a judge over the API and runs it to the end; returns its entry in the table.
    static func run(_ app: TestApp, _ project: Project, judge: String, admin: String, add: Bool = true) async throws -> JSONValue {
        if add {
            let added = try app.call("POST", "/api/projects/\(project.id)/judges", admin, #"{"name":"\#(judge)","endpoint":"\#(judge)"}"#)
            #expect(added.status == 201, "\(added.json)")
        }
        let started = try app.call("POST", "/api/projects/\(project.id)/judges/\(judge)/run", admin)
        #expect(started.status == 202, "\(started.json)")
        for _ in 0..<600 {
            let table = try app.call("GET", "/api/projects/\(project.id)/judges", admin).json
            if let entry = table["judges"]?.arrayValue?.first(where: { $0["name"]?.stringValue == judge }),
                entry["state"]?.stringValue != "running"
            {
                return entry
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the judge \(judge) did not finish")
        return .null
    }

    @Test(arguments: TestEngine.all)
    func plantedJudgesAreMeasuredLikeRaters(engine: TestEngine) async throws {
        let fake = try FakeOpenAIServer(delayMs: 0)
        let app = try TestApp(engine: engine) { $0.models = Self.pool(fake) }
        let admin = try await app.user("root", role: .admin)
        let project = try await Self.judgedProject(app)
        let peopleBefore = try app.raters(project, token: admin)

        let good = try await Self.run(app, project, judge: "good", admin: admin)
        #expect(good["state"]?.stringValue == "idle" && good["verdicts"]?.intValue == 40 && good["pending"]?.intValue == 0)
        let measures = try #require(good["measures"])
        #expect(measures["with_people"]?["rate"]?.doubleValue == 1 && measures["with_people"]?["n"]?.intValue == 40)
        #expect(measures["gold"]?["right"]?.intValue == 10 && measures["gold"]?["n"]?.intValue == 10)
        #expect(measures["inconsistent"]?.intValue == 0)
        // Asked both ways round, a judge that reads the responses picks the first shown half the time.
        #expect(measures["shown_first"]?["rate"]?.doubleValue == 0.5)
        #expect(good["cost"]?["requests"]?.intValue == 80, "two questions per pair")
        #expect((good["cost"]?["prompt_tokens"]?.intValue ?? 0) > 0, "usage read from the stream")
        let categories = measures["by_category"]?.arrayValue?.compactMap { $0["category"]?.stringValue }
        #expect(categories == ["chat", "math"])

        let first = try await Self.run(app, project, judge: "first", admin: admin)
        #expect(first["measures"]?["shown_first"]?["rate"]?.doubleValue == 1)
        #expect(first["measures"]?["inconsistent"]?.intValue == 40)

        let refuse = try await Self.run(app, project, judge: "refuse", admin: admin)
        let malformed = try await Self.run(app, project, judge: "malformed", admin: admin)
        for judge in [refuse, malformed] {
            #expect(judge["state"]?.stringValue == "idle" && judge["unreadable"]?.intValue == 40, "\(judge)")
        }

        // Judges appear among the raters, measured against the people; the people's
        // own entries are what they were before any judge.
        let raters = try app.raters(project, token: admin)
        let judgeEntries = raters.filter { $0["kind"]?.stringValue == "judge" }
        #expect(
            Set(judgeEntries.compactMap { $0["annotator"]?.stringValue }) == ["judge:good", "judge:first"], "no readable answers: no entry")
        let firstEntry = try #require(judgeEntries.first { $0["annotator"]?.stringValue == "judge:first" })
        #expect(firstEntry["status"]?.stringValue == "flagged")
        let reasons = firstEntry["reasons"]?.arrayValue?.compactMap { $0["signal"]?.stringValue } ?? []
        #expect(reasons.contains("position") || reasons.contains("self_consistency"), "\(reasons)")
        let goodEntry = try #require(judgeEntries.first { $0["annotator"]?.stringValue == "judge:good" })
        #expect(goodEntry["status"]?.stringValue == "ok" && goodEntry["gold"]?["right"]?.intValue == 10)
        let peopleAfter = raters.filter { $0["kind"]?.stringValue == "person" }
        #expect(peopleAfter.map(\.jsonText).sorted() == peopleBefore.map(\.jsonText).sorted())

        // A run again asks nothing: every pair has its verdict.
        let again = try await Self.run(app, project, judge: "good", admin: admin, add: false)
        #expect(again["cost"]?["requests"]?.intValue == 80)
        #expect(fake.requests.filter { $0["model"]?.stringValue == "judge-good" }.count == 80)

        // Verdicts, with both answers and the rationale.
        let verdicts = try app.call("GET", "/api/projects/\(project.id)/judges/first/verdicts?limit=5", admin).json
        let listed = try #require(verdicts["verdicts"]?.arrayValue)
        #expect(listed.count == 5 && verdicts["next_after"] != .null)
        for verdict in listed {
            #expect(verdict["choice"]?.stringValue == "tie" && verdict["first_answer"] != verdict["second_answer"])
            #expect(verdict["first_answer"]?.stringValue == verdict["first_shown"]?.stringValue)
        }
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func aFailingEndpointStopsTheRunAndLeavesItsPairsForTheNext(engine: TestEngine) async throws {
        let fake = try FakeOpenAIServer(delayMs: 0, silenceSeconds: 5)
        let app = try TestApp(engine: engine) { $0.models = Self.pool(fake) }
        let admin = try await app.user("root", role: .admin)
        let project = try await app.project(pairs: 60)
        let down = try await Self.run(app, project, judge: "down", admin: admin)
        #expect(down["state"]?.stringValue == "failed")
        #expect(down["last_error"]?.stringValue?.contains("the model is overloaded") == true, "\(down)")
        #expect(down["verdicts"]?.intValue == 0 && down["pending"]?.intValue == 60)
        // Three batches in a row failed, then it stopped: not every pair was tried.
        let tried = fake.requests.filter { $0["model"]?.stringValue == "fail" }.count
        #expect(tried == 3 * JudgeService.batchPairs * 2, "\(tried) requests")
        #expect(down["cost"]?["failed_requests"]?.intValue == Int64(tried))

        // A slow endpoint (silent past its timeout): the same, as a timeout.
        let project2 = try await app.project(pairs: 2, name: "small")
        let slow = try await Self.run(app, project2, judge: "slow", admin: admin)
        #expect(slow["state"]?.stringValue == "failed" && slow["pending"]?.intValue == 2, "\(slow)")
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func exportsCountJudgesOnlyWhenAskedAndNeverAFlaggedOne(engine: TestEngine) async throws {
        let fake = try FakeOpenAIServer(delayMs: 0)
        let app = try TestApp(engine: engine) { $0.models = Self.pool(fake) }
        let admin = try await app.user("root", role: .admin)
        let project = try await Self.judgedProject(app)
        _ = try await Self.run(app, project, judge: "good", admin: admin)
        _ = try await Self.run(app, project, judge: "first", admin: admin)

        let plain = try await Self.export(app, project, admin: admin, "")
        #expect(plain["judges"]?["counted"]?.boolValue == false)
        #expect(plain["judges"]?["reason"]?.stringValue?.contains("count_judges") == true)

        let counted = try await Self.export(app, project, admin: admin, "&include_judges=true")
        #expect(counted["judges"]?["counted"]?.boolValue == true)
        #expect(counted["judges"]?["judges"] == ["good"])
        #expect(counted["judges"]?["votes"]?.intValue == 40)
        let leftOut = counted["judges"]?["left_out"]?.arrayValue?.first
        #expect(leftOut?["judge"]?.stringValue == "first" && leftOut?["reason"]?.stringValue?.hasPrefix("flagged") == true)

        let majority = try await Self.export(app, project, admin: admin, "&include_judges=true&aggregate=majority")
        #expect(majority["judges"]?["counted"]?.boolValue == false)

        // The project's setting turns them on for every export; an export may still say no.
        let patched = try app.call("PATCH", "/api/projects/\(project.id)", admin, #"{"count_judges":true}"#)
        #expect(patched.status == 200, "\(patched.json)")
        #expect(try await Self.export(app, project, admin: admin, "")["judges"]?["counted"]?.boolValue == true)
        #expect(try await Self.export(app, project, admin: admin, "&include_judges=false")["judges"]?["counted"]?.boolValue == false)
        await app.stop()
    }

    /// The manifest of an export with these options (as `arbiter export` makes it).
    static func export(_ app: TestApp, _ project: Project, admin: String, _ query: String) async throws -> JSONValue {
        let options = try ExportRequest(
            fields: Dictionary(
                uniqueKeysWithValues: ("format=trl" + query).split(separator: "&").map { part in
                    let kv = part.split(separator: "=", maxSplits: 1)
                    return (String(kv[0]), ExportRequest.Field.text(String(kv[1])))
                }), door: .download
        ).options
        let out = app.directory.path + "/export-\(UInt32.random(in: 0...UInt32.max)).jsonl"
        let manifest = try await app.app.store.pool.read { db in
            try Exporter.run(db, project: try #require(try Projects.find(db, id: project.id)), options: options, out: out, now: 0)
        }
        return manifest.json
    }

    @Test func badRegistrationsAreRefusedWithTheFieldNamed() async throws {
        let fake = try FakeOpenAIServer(delayMs: 0)
        let app = try TestApp { $0.models = Self.pool(fake) }
        let admin = try await app.user("root", role: .admin)
        let reviewer = try await app.user("rev", role: .reviewer)
        let annotator = try await app.user("ann")
        let project = try await app.project(pairs: 3)
        let ranking = try await app.project(pairs: 0, name: "ranked") { $0.kind = .ranking }
        let path = "/api/projects/\(project.id)/judges"
        let cases: [(String, String, Int, String)] = [
            (path, #"{"name":"x","endpoint":"nowhere"}"#, 400, "endpoint"),
            (path, #"{"name":"judge:x","endpoint":"good"}"#, 400, "name"),
            (path, #"{"name":"x","endpoint":"good","template":"no placeholders"}"#, 400, "template"),
            (path, #"{"name":"x","endpoint":"good","colour":"red"}"#, 400, "colour"),
            (path, #"[1]"#, 400, "body"),
            ("/api/projects/\(ranking.id)/judges", #"{"name":"x","endpoint":"good"}"#, 400, "pairwise"),
            ("/api/projects/999/judges", #"{"name":"x","endpoint":"good"}"#, 404, ""),
        ]
        for (target, body, status, mention) in cases {
            let response = try app.call("POST", target, admin, body)
            #expect(response.status == status, "\(body): \(response.json)")
            #expect(response.json["error"]?["message"]?.stringValue?.contains(mention) == true, "\(body): \(response.json)")
        }
        #expect(try app.call("POST", path, admin, #"{"name":"x","endpoint":"good"}"#).status == 201)
        #expect(try app.call("POST", path, admin, #"{"name":"x","endpoint":"good"}"#).status == 400, "a name twice")
        #expect(try app.call("POST", "\(path)/nobody/run", admin).status == 404)
        // Who may do what.
        #expect(try app.call("GET", path, annotator).status == 403)
        #expect(try app.call("GET", path, reviewer).status == 200)
        #expect(try app.call("POST", "\(path)/x/run", reviewer).status == 403)
        #expect(try app.call("DELETE", "\(path)/x", reviewer).status == 403)
        #expect(try app.call("DELETE", "\(path)/x", admin).status == 200)
        #expect(try app.call("GET", "\(path)/x/verdicts", admin).status == 404)
        #expect(try app.call("GET", "\(path)/x/verdicts?limit=99999", admin).status == 400)
        await app.stop()
    }
}

extension JudgeTests {
    /// With `count_judges` on an adaptive project, a good judge's verdicts settle
    /// pairs one person judged when they agree; a coin-flipping judge is estimated
    /// near chance, not counted, and settles nothing.
    @Test(arguments: TestEngine.all)
    func adaptiveOverlapCountsAGoodJudgeAndIgnoresACoin(engine: TestEngine) async throws {
        for (judge, counts) in [("good", true), ("random", false)] {
            let fake = try FakeOpenAIServer(delayMs: 0)
            let app = try TestApp(engine: engine) { $0.models = Self.pool(fake) }
            let admin = try await app.user("root", role: .admin)
            let project = try await Self.markedProject(app, name: "adaptive", count: 80) { settings in
                settings.overlap = 5
                settings.minOverlap = 1
                settings.countJudges = true
            }
            // Two people on the first 40 pairs, one on the other 40 (that one alone settles nothing).
            var lines: [String] = []
            for i in 0..<80 {
                let right = i % 2 == 0 ? "A" : "B"
                for person in i < 40 ? ["ada", "bo"] : ["ada"] {
                    lines.append(#"{"pair":"p\#(i)","annotator":"\#(person)","choice":"\#(right)"}"#)
                }
            }
            try await app.importJudgements(lines, into: project)
            let open = "SELECT count(*) FROM pairs WHERE project_id = \(project.id) AND active_count = 1 AND wanted > 1"
            #expect(try await app.count(open) == 40)
            let entry = try await Self.run(app, project, judge: judge, admin: admin)
            #expect(
                entry["overlap"]?["counted"]?.boolValue == counts,
                "\(judge): \(entry["overlap"] ?? .null) \(entry["measures"]?["with_people"] ?? .null)")
            if counts {
                #expect((entry["overlap"]?["estimated_accuracy"]?.doubleValue ?? 0) > 0.9)
                #expect(try await app.count(open) == 0, "the judge's agreeing verdicts settled every pair one person judged")
            } else {
                #expect(try await app.count(open) == 40)
            }
            await app.stop()
        }
    }
}

extension JudgeTests {
    /// With judges counted, `next` serves people first the pairs the judges could
    /// not settle (here: a tie) and last those they agree on.
    @Test(arguments: TestEngine.all)
    func peopleGetThePairsJudgesCannotSettleFirst(engine: TestEngine) async throws {
        let fake = try FakeOpenAIServer(delayMs: 0)
        let app = try TestApp(engine: engine) { $0.models = Self.pool(fake) }
        let admin = try await app.user("root", role: .admin)
        let annotator = try await app.user("ann")
        // Pairs 0–5: one response marked better; pairs 6 and 7: neither (the judge says tie).
        let project = try await Self.markedProject(app, name: "ordered", count: 8, unmarkedFrom: 6) { settings in
            settings.overlap = 1
            settings.countJudges = true
        }
        _ = try await Self.run(app, project, judge: "good", admin: admin)
        var served: [String] = []
        for _ in 0..<3 {
            let (status, assignment) = try app.next(annotator, project: project.id)
            #expect(status == 200)
            let pair = try #require(assignment?["pair_id"]?.stringValue)
            served.append(pair)
            let id = try #require(assignment?["id"]?.intValue)
            #expect(try app.submit(annotator, assignment: id, #"{"choice":"left"}"#).0 == 201)
        }
        #expect(Array(served.prefix(2)).sorted() == ["p6", "p7"], "\(served)")
        #expect(served[2] == "p0")
        await app.stop()
    }
}

extension JudgeTests {
    /// A server that stops mid-run: the next server's run (after the stale
    /// heartbeat, should the first have left the judge marked running) judges the
    /// pairs left, and the verdicts stored before are kept.
    @Test(arguments: TestEngine.all)
    func aRunStoppedByShutdownResumesWhereItWas(engine: TestEngine) async throws {
        let fake = try FakeOpenAIServer(delayMs: 0)
        // The first batch is answered; the second waits until the server has stopped.
        let batch = JudgeService.batchPairs
        fake.holdJudges(after: 2 * batch)
        let first = try TestApp(engine: engine) { $0.models = Self.pool(fake) }
        let admin = try await first.user("root", role: .admin)
        let project = try await first.project(pairs: 200)
        #expect(try first.call("POST", "/api/projects/\(project.id)/judges", admin, #"{"name":"good","endpoint":"good"}"#).status == 201)
        #expect(try first.call("POST", "/api/projects/\(project.id)/judges/good/run", admin).status == 202)
        while try await first.count("SELECT count(*) FROM judge_verdicts") < batch { try await Task.sleep(for: .milliseconds(20)) }
        await first.stop()
        // Read while the held batch is still held: only the first one is stored.
        let judged = try first.inspect().queryFirst("SELECT count(*) FROM judge_verdicts") { $0.int(0) }
        #expect(judged == batch)
        fake.releaseJudges()

        let second = try TestApp(engine: engine, sharing: first) { $0.models = Self.pool(fake) }
        second.clock.advance(seconds: 180)
        let entry = try await Self.run(second, project, judge: "good", admin: admin, add: false)
        #expect(entry["verdicts"]?.intValue == 200 && entry["state"]?.stringValue == "idle")
        // Every pair asked at least twice over both servers.
        #expect(fake.requests.filter { $0["model"]?.stringValue == "judge-good" }.count >= 400)
        await second.stop()
    }
}

extension JudgeTests {
    /// The command line: `project create --count-judges`, and an export's manifest
    /// saying whether judges were counted (here: a project without judges).
    @Test func theCommandLineSetsAndReportsCountingJudges() throws {
        let directory = TemporaryDirectory()
        let db = try TestEngine.sqlite.freshDatabase(in: directory.path)
        func arbiter(_ arguments: String...) throws -> CommandRunner.Result {
            try CommandRunner.arbiter(arguments.map { $0 == "DB" ? db : $0 })
        }
        #expect(try arbiter("project", "create", "--db", "DB", "--name", "p", "--count-judges").status == 0)
        let counts = try connect(db).queryFirst("SELECT count_judges FROM projects WHERE name = 'p'") { $0.int(0) }
        #expect(counts == 1)
        directory.write("pairs.jsonl", #"{"id":"p1","prompt":"q","response_a":"a","response_b":"b"}"# + "\n")
        #expect(try arbiter("import", "pairs", "--db", "DB", "--project", "p", directory.path + "/pairs.jsonl").status == 0)
        let out = directory.path + "/out.jsonl"
        let export = try arbiter("export", "--db", "DB", "--project", "p", "--format", "raw", "--out", out, "--no-include-judges")
        #expect(export.status == 0, "\(export.stderr)")
        let manifest = try JSONValue.parse(Array((TextFile.read(out + ".manifest.json") ?? "").utf8))
        #expect(manifest["filters"]?["include_judges"] == false)
        #expect(manifest["judges"]?["counted"] == false)
    }
}
