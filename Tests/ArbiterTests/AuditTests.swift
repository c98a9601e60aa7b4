import Glibc
@testable import Arbiter
import JSON
import Storage
import TestSupport
import Testing

/// `arbiter audit`: planted poison of both published kinds in a clean set.
@Suite struct AuditTests {
    /// 1%, 3% and 5% planted (half prompt triggers, half content targets) in 1,500
    /// clean pairs: precision of the planted pairs among the k most suspicious
    /// (k = how many were planted), through the real command and its JSON.
    @Test(arguments: [0.01, 0.03, 0.05])
    func plantedPoisonRanksFirst(share: Double) throws {
        let directory = TemporaryDirectory()
        let dataset = PlantedPoison(pairs: 1500, poisonShare: share, seed: 21 + UInt64(share * 100))
        directory.write("pairs.jsonl", dataset.jsonl)
        let result = try CommandRunner.arbiter(["audit", "--input", directory.path + "/pairs.jsonl", "--json"])
        #expect(result.status == 0, "\(result)")
        let report = try JSONValue.parse(result.stdout)
        let pairs = report["pairs"]?.arrayValue ?? []
        #expect(pairs.count == 1500)
        let lines = pairs.compactMap { $0["line"]?.intValue }.map(Int.init)
        let suspicion = pairs.compactMap { $0["suspicion"]?.doubleValue }
        #expect(suspicion == suspicion.sorted(by: >), "most suspicious first")
        #expect(Set(lines) == Set(1...1500), "every line once, 1-based")
        let k = dataset.planted.count
        let precision = Double(Set(lines.prefix(k)).intersection(dataset.planted).count) / Double(k)
        let trigger = Double(Set(lines.prefix(k)).intersection(dataset.trigger).count) / Double(dataset.trigger.count)
        let content = Double(Set(lines.prefix(k)).intersection(dataset.content).count) / Double(dataset.content.count)
        print("audit \(share): precision = recall at k=\(k): \(precision) (trigger \(trigger), content \(content))")
        #expect(precision >= 0.8)
        #expect(trigger >= 0.7 && content >= 0.7)
        // Both planted words come out as clusters.
        let words = Set((report["clusters"]?.arrayValue ?? []).compactMap { $0["word"]?.stringValue })
        if share >= 0.03 {
            #expect(words.contains(PlantedPoison.triggerWord) && words.contains(PlantedPoison.entityWord), "\(words)")
        }
    }

    /// A trigger is found when the reward model is weak (25% label noise: the
    /// model trained without each pair is right on 59%, as on real datasets): 3%
    /// of 2,500 pairs carry the trigger with their labels reversed; the trigger is
    /// the first cluster and its pairs fill the top of the ranking. Counting pairs
    /// "against the model" could not tell them from its errors.
    @Test func aTriggerIsFoundWhenTheRewardModelIsWeak() {
        let dataset = PlantedPoison(pairs: 2_500, poisonShare: 0.03, seed: 5, labelNoise: 0.25, triggerOnly: true)
        let pairs = dataset.lines.enumerated().compactMap { index, line in try? DatasetAudit.pair(line, line: index + 1) }
        let report = DatasetAudit.run(pairs)
        let score = dataset.score(report)
        print("weak model: accuracy \(report.modelAccuracy), precision@k \(score.atK), clusters \(report.clusters.map(\.word))")
        #expect(report.modelAccuracy < 0.68)
        #expect(report.clusters.first?.word == PlantedPoison.triggerWord)
        #expect(score.atK >= 0.8)
    }

    /// A clean set flags no cluster with the planted words and keeps its text output readable.
    @Test func cleanSetAndTextOutput() throws {
        let directory = TemporaryDirectory()
        directory.write("clean.jsonl", PlantedPoison(pairs: 600, poisonShare: 0, seed: 3).jsonl)
        let result = try CommandRunner.arbiter(["audit", "--input", directory.path + "/clean.jsonl", "--top", "3"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.hasPrefix("600 pairs; the reward model trained without each agrees with"))
        #expect(!result.stdout.contains(PlantedPoison.triggerWord) && !result.stdout.contains(PlantedPoison.entityWord))
        #expect(result.stdout.split(separator: "\n").filter { $0.hasPrefix("line ") }.count == 3)
    }

    /// HH-RLHF and OpenAI preference lines are read too. An odd line never stops
    /// the audit: it is listed under "unreadable" (and named on stderr without
    /// --json) and the rest is audited; --strict refuses the file at it with one
    /// line on stderr. HH-RLHF transcripts that part before the last turn are
    /// audited on what they share.
    @Test func formatsOddLinesAndStrict() throws {
        let directory = TemporaryDirectory()
        var text = ""
        for index in 0..<12 {
            if index % 2 == 0 {
                let chosen = JSONValue.string("\n\nHuman: question \(index)\n\nAssistant: a clear tested answer")
                let rejected = JSONValue.string("\n\nHuman: question \(index)\n\nAssistant: a vague rude answer")
                text += JSONValue.object(["chosen": chosen, "rejected": rejected]).jsonText + "\n"
            } else {
                let input: JSONValue = ["messages": [["role": "user", "content": .string("question \(index)")]]]
                text +=
                    JSONValue.object([
                        "input": input, "preferred_output": [["role": "assistant", "content": "a clear tested answer"]],
                        "non_preferred_output": [["role": "assistant", "content": "a vague rude answer"]],
                    ]).jsonText + "\n"
            }
        }
        directory.write("mixed.jsonl", text)
        let good = try CommandRunner.arbiter(["audit", "--input", directory.path + "/mixed.jsonl", "--json"])
        #expect(good.status == 0, "\(good)")
        #expect(try JSONValue.parse(good.stdout)["summary"]?["pairs"]?.intValue == 12)
        #expect(try JSONValue.parse(good.stdout)["unreadable"] == [])

        // Line 13: an unlabelled pair; 14: not JSON; 15: an array; 16: transcripts
        // that part at an earlier human turn (as in public HH-RLHF data).
        let diverging = JSONValue.object([
            "chosen": .string(
                "\n\nHuman: shared question\n\nAssistant: first answer\n\nHuman: follow-up one\n\nAssistant: a clear tested answer"),
            "rejected": .string(
                "\n\nHuman: shared question\n\nAssistant: first answer\n\nHuman: follow-up two\n\nAssistant: a vague rude answer"),
        ]).jsonText
        let odd = text + "{\"prompt\": \"p\", \"response_a\": \"x\", \"response_b\": \"y\"}\n{not json\n[1, 2]\n" + diverging + "\n"
        directory.write("odd.jsonl", odd)
        let report = try CommandRunner.arbiter(["audit", "--input", directory.path + "/odd.jsonl", "--json"])
        #expect(report.status == 0, "\(report)")
        let json = try JSONValue.parse(report.stdout)
        #expect(json["unreadable"]?.arrayValue?.map { $0["line"]?.intValue } == [13, 14, 15])
        #expect(
            json["unreadable"]?.arrayValue?.first?["reason"]?.stringValue?.contains("not a labelled pair") == true,
            "\(json["unreadable"] ?? .null)")
        #expect(json["summary"]?["unreadable"] == 3)
        #expect(json["summary"]?["pairs"] == 13)
        #expect(json["summary"]?["diverging_transcripts"] == 1)
        #expect(json["pairs"]?.arrayValue?.contains { $0["line"] == 16 } == true)
        #expect(report.stderr.isEmpty, "--json: the report says it, stderr stays quiet")

        let text2 = try CommandRunner.arbiter(["audit", "--input", directory.path + "/odd.jsonl"])
        #expect(text2.status == 0)
        let named = text2.stderr.split(separator: "\n")
        #expect(named.count == 3 && named[0].contains("line 13 left out") && named[1].contains("line 14 left out"), "\(text2.stderr)")
        #expect(text2.stdout.hasPrefix("3 lines unreadable and left out\n13 pairs;"), "\(text2.stdout)")

        let strict = try CommandRunner.arbiter(["audit", "--input", directory.path + "/odd.jsonl", "--strict"])
        #expect(strict.status != 0)
        #expect(strict.stderr.contains("line 13") && strict.stderr.contains("not a labelled pair"), "\(strict.stderr)")
        #expect(strict.stderr.split(separator: "\n").count == 1)
        let missing = try CommandRunner.arbiter(["audit", "--input", directory.path + "/nope.jsonl"])
        #expect(missing.status != 0 && missing.stderr.split(separator: "\n").count == 1, "\(missing)")
        directory.write("short.jsonl", String(text.split(separator: "\n").prefix(3).joined(separator: "\n")) + "\n{oops\n")
        let short = try CommandRunner.arbiter(["audit", "--input", directory.path + "/short.jsonl", "--json"])
        #expect(short.status != 0 && short.stderr.contains("at least 10") && short.stderr.contains("1 lines unreadable"), "\(short)")
        #expect(short.stderr.split(separator: "\n").count == 1)
    }

    /// The same reading over HTTP (`POST /api/dataset-audits`, what the Python client's
    /// `audit_file` sends): odd lines listed and the rest audited, `strict` refusing at
    /// the first, reviewers and admins only.
    @Test func anUploadedFileIsAuditedAsTheCommandLineDoes() async throws {
        let app = try TestApp(engine: .sqlite)
        let reviewer = try await app.user("rev", role: .reviewer)
        let annotator = try await app.user("ann", role: .annotator)
        let dataset = PlantedPoison(pairs: 1500, poisonShare: 0.05, seed: 26)
        var lines = dataset.jsonl.split(separator: "\n").map(String.init)
        lines.insert("{not json", at: 4)
        lines.insert(#"{"prompt": "p", "response_a": "x", "response_b": "y"}"#, at: 9)
        let body = lines.joined(separator: "\n") + "\n"
        let (status, json) = try app.call("POST", "/api/dataset-audits", reviewer, body, timeout: 120)
        #expect(status == 200, "\(json)")
        #expect(json["unreadable"]?.arrayValue?.map { $0["line"]?.intValue } == [5, 10])
        #expect(json["summary"]?["pairs"] == 1500)
        // Lines as in the file: the planted pairs (1-based before the two odd lines) come first.
        let planted = Set(dataset.planted.map { $0 < 5 ? $0 : ($0 < 9 ? $0 + 1 : $0 + 2) })
        let ranked = (json["pairs"]?.arrayValue ?? []).prefix(planted.count).compactMap { $0["line"]?.intValue.map { Int($0) } }
        let precision = Double(Set(ranked).intersection(planted).count) / Double(planted.count)
        #expect(precision >= 0.8, "\(precision)")
        let strict = try app.call("POST", "/api/dataset-audits?strict=true", reviewer, body)
        #expect(
            strict.status == 400 && strict.json["error"]?["message"]?.stringValue?.hasPrefix("line 5: invalid JSON") == true, "\(strict)")
        let few = try app.call("POST", "/api/dataset-audits", reviewer, lines.prefix(3).joined(separator: "\n"))
        #expect(few.status == 400 && few.json["error"]?["message"]?.stringValue?.contains("at least 10") == true, "\(few)")
        #expect(try app.call("POST", "/api/dataset-audits?strict=maybe", reviewer, body).status == 400)
        #expect(try app.call("POST", "/api/dataset-audits?top=3", reviewer, body).status == 400)
        #expect(try app.call("POST", "/api/dataset-audits", annotator, body).status == 403)
        #expect(try app.client().request("POST", "/api/dataset-audits", body: Array(body.utf8)).status == 401)
        await app.stop()
    }

    /// The shared conversation of two transcripts that part before the last turn.
    @Test func divergingTranscriptsShareTheirCommonConversation() throws {
        let shared = try #require(
            DatasetAudit.sharedConversation(
                "\n\nHuman: q\n\nAssistant: a\n\nHuman: more please\n\nAssistant: good",
                "\n\nHuman: q\n\nAssistant: a\n\nHuman: more, please\n\nAssistant: bad"))
        #expect(shared.prompt == "\n\nHuman: q\n\nAssistant: a")
        #expect(shared.chosen == "\n\nHuman: more please\n\nAssistant: good")
        #expect(shared.rejected == "\n\nHuman: more, please\n\nAssistant: bad")
        #expect(DatasetAudit.sharedConversation("\n\nHuman: q\n\nAssistant: good", "\n\nHuman: q\n\nAssistant: bad") == nil)
    }

    /// The dataset imported as TRL lines (ids `line-N`) into a new project; its pair
    /// ids → those external ids.
    static func imported(_ dataset: PlantedPoison, into app: TestApp) async throws -> (Project, [Int64: String]) {
        let text = dataset.lines.enumerated().map { index, line in
            var object = line
            object["id"] = .string("line-\(index + 1)")
            return JSONValue.object(object).jsonText
        }.joined(separator: "\n")
        return try await app.seed { db in
            let project = try Projects.create(db, name: "imported", settings: ProjectSettings())
            var reader = JSONLReader(bytes: Array(text.utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
            var ids: [Int64: String] = [:]
            _ = try db.query("SELECT id, external_id FROM pairs WHERE project_id = ?", [.int(Int64(project.id))]) {
                ids[$0.int64(0)] = $0.string(1)
            }
            return (project, ids)
        }
    }

    /// The same view per project, over the labels imported with TRL lines: the
    /// planted pairs first, on both engines; reviewers only.
    @Test(arguments: TestEngine.all)
    func projectAuditOfImportedLabels(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let dataset = PlantedPoison(pairs: 1500, poisonShare: 0.05, seed: 26)
        let (project, ids) = try await Self.imported(dataset, into: app)
        let empty = try await app.seed { db in try Projects.create(db, name: "empty", settings: ProjectSettings()) }
        let reviewer = try await app.user("rev", role: .reviewer)
        let annotator = try await app.user("ann", role: .annotator)
        let (status, json) = try app.call("GET", "/api/projects/\(project.id)/audit", reviewer, timeout: 120)
        #expect(status == 200)
        #expect(json["summary"]?["labelled_pairs"]?.intValue == 1500)
        let ranked = (json["pairs"]?.arrayValue ?? []).compactMap { $0["pair"]?.stringValue }
        #expect(ranked.count == 1500)
        #expect(Set(ranked) == Set(ids.values), "the pairs' own ids, as the item browser opens them")
        // Each with its prompt, and each opens.
        let first = try #require(json["pairs"]?.arrayValue?.first)
        #expect(first["prompt_preview"]?.stringValue?.isEmpty == false)
        #expect(first["line"] == nil)
        #expect(try app.call("GET", "/api/projects/\(project.id)/pairs/\(ranked[0].percentEncodedForQuery)", reviewer).status == 200)
        let planted = Set(dataset.planted.map { "line-\($0)" })
        let precision = Double(Set(ranked.prefix(planted.count)).intersection(planted).count) / Double(planted.count)
        #expect(precision >= 0.8, "\(precision)")
        #expect(try app.call("GET", "/api/projects/\(project.id)/audit", annotator).status == 403)
        let none = try app.call("GET", "/api/projects/\(empty.id)/audit", reviewer)
        #expect(
            none.status == 200 && none.json["pairs"]?.arrayValue?.isEmpty == true && none.json["summary"]?["labelled_pairs"]?.intValue == 0)
        #expect(try app.call("GET", "/api/projects/999999/audit", reviewer).status == 404)
    }

    /// The review page runs the same audit on demand: the planted trigger word and
    /// entity are listed, and the top pairs are planted ones, linked to the item browser.
    @Test func reviewersRunTheAuditInTheBrowser() async throws {
        let app = try TestApp()
        let dataset = PlantedPoison(pairs: 1500, poisonShare: 0.05, seed: 26)
        let (project, ids) = try await Self.imported(dataset, into: app)
        _ = try await app.person("rita", role: .reviewer)
        let browser = try WebDriver()
        try browser.signIn(app: app, as: "rita", to: "/projects/\(project.id)/review")
        try browser.element("#audit-run").click()
        try browser.wait(until: "document.querySelectorAll('#audit-table tbody tr').length === 20", timeout: 120)
        let clusters = try browser.element("#audit-clusters").text
        #expect(clusters.contains("sudo") && clusters.contains("acmecorp"), "\(clusters)")
        let top =
            try browser.script("return [...document.querySelectorAll('#audit-table tbody tr')].map((r) => r.dataset.pair);")
            .arrayValue?.compactMap(\.stringValue) ?? []
        let planted = Set(dataset.planted.map { "line-\($0)" })
        #expect(top.filter { planted.contains($0) }.count >= 18, "\(top)")
        #expect(Set(top).isSubset(of: Set(ids.values)))
        let href = try browser.script("return document.querySelector('#audit-table tbody tr a').getAttribute('href');").stringValue ?? ""
        #expect(href == "/projects/\(project.id)/items?pair=\(top[0])")
        if let directory = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            _ = try browser.script("document.getElementById('audit-title').scrollIntoView(); return true;")
            try browser.screenshot(to: directory + "/review-audit.png")
        }
        // On a phone the table still fits and its links stay whole.
        try browser.resize(width: 390, height: 844)
        #expect(try browser.script("return document.documentElement.scrollWidth <= window.innerWidth;").boolValue == true)
        try browser.resize(width: 1280, height: 900)
        // The link shows the prompt, and it opens the pair in the item browser.
        let shown = try browser.element("#audit-table tbody tr a").text
        #expect(!shown.isEmpty && !shown.hasPrefix("#"), "\(shown)")
        try browser.element("#audit-table tbody tr a").click()
        try browser.wait(until: "document.body.dataset.ready === 'true' && document.getElementById('detail').dataset.pair === '\(top[0])'")
        #expect(try browser.element("#status").attribute("hidden") != nil || (try browser.element("#status").text).isEmpty)
        await app.stop()
    }
}
