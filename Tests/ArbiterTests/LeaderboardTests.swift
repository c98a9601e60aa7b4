import Agreement
import Glibc
@testable import Arbiter
import JSON
import Storage
import Testing
import TestSupport

/// The model leaderboard over a project's votes, through the API and the command
/// line, on both engines: planted strengths come back in order, quarantined
/// raters' votes are left out and counted, intervals hold the scores, and a fit
/// without a maximum says so. (The fit itself is checked against scikit-learn in
/// BradleyTerryFitTests.)
@Suite struct LeaderboardTests {
    static let models = ["llama-3-70b", "mistral-large", "gpt-4o-mini", "qwen-7b"]
    static let strengths = [0.9, 0.4, 0.0, -0.7]

    /// 300 pairs between random models (and 10 without model names), 4 raters
    /// judging by the planted strengths, and a spammer who always picks qwen-7b.
    static func seed(_ app: TestApp) async throws -> (project: Project, votes: [BradleyTerryFit.Vote]) {
        var random = SplitMix(seed: 99)
        var pairLines: [String] = []
        var annotationLines: [String] = []
        var votes: [BradleyTerryFit.Vote] = []
        for i in 0..<300 {
            let a = Int(random.next() % 4)
            var b = Int(random.next() % 3)
            if b >= a { b += 1 }
            pairLines.append(
                #"{"id":"p\#(i)","prompt":"q\#(i)","response_a":"answer \#(i) from \#(models[a])","response_b":"reply \#(i) by \#(models[b])","model_a":"\#(models[a])","model_b":"\#(models[b])"}"#
            )
            for rater in 0..<4 where random.next() % 2 == 0 {
                let p = 1 / (1 + exp(strengths[b] - strengths[a]))
                let u = Double(random.next() % 1000) / 1000
                let choice = u < 0.1 ? "tie" : (u - 0.1) / 0.9 < p ? "A" : "B"
                annotationLines.append(#"{"pair":"p\#(i)","annotator":"r\#(rater)","choice":"\#(choice)"}"#)
                votes.append(.init(a: a, b: b, scoreA: choice == "A" ? 1 : choice == "B" ? 0 : 0.5))
            }
            annotationLines.append(#"{"pair":"p\#(i)","annotator":"spam","choice":"\#(a == 3 ? "A" : b == 3 ? "B" : "tie")"}"#)
        }
        for i in 0..<10 {
            pairLines.append(#"{"id":"n\#(i)","prompt":"x\#(i)","response_a":"a\#(i)","response_b":"b\#(i)"}"#)
            annotationLines.append(#"{"pair":"n\#(i)","annotator":"r0","choice":"A"}"#)
        }
        let (pairs, annotations) = (pairLines.joined(separator: "\n"), annotationLines.joined(separator: "\n"))
        let project = try await app.seed { db in
            let project = try Projects.create(db, name: "arena", settings: ProjectSettings())
            var reader = JSONLReader(bytes: Array(pairs.utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
            reader = JSONLReader(bytes: Array(annotations.utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
            return project
        }
        return (project, votes)
    }

    @Test(arguments: TestEngine.all)
    func ranksModelsWithIntervals(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        defer { Task { await app.stop() } }
        let (project, votes) = try await Self.seed(app)
        let reviewer = try await app.user("rita", role: .reviewer)
        // Before the spammer is quarantined, their votes lift qwen-7b off the bottom.
        let before = try app.call("GET", "/api/projects/\(project.id)/leaderboard?bootstrap=0", reviewer)
        #expect(before.json["models"]?.arrayValue?.last?["model"]?.stringValue != "qwen-7b", "\(before.json)")
        #expect(
            try app.call(
                "POST", "/api/projects/\(project.id)/raters/spam/status", reviewer,
                #"{"status":"quarantined","comment":"always picks qwen-7b"}"#
            ).status == 200)
        let (status, board) = try app.call("GET", "/api/projects/\(project.id)/leaderboard?bootstrap=200", reviewer, timeout: 60)
        #expect(status == 200, "\(board)")
        let entries = board["models"]?.arrayValue ?? []
        #expect(entries.compactMap { $0["model"]?.stringValue } == Self.models, "planted order: \(entries)")
        #expect(board["battles"]?.intValue == Int64(votes.count))
        #expect(board["excluded"]?["votes"]?.intValue == 300 && board["excluded"]?["quarantined_raters"]?.intValue == 1)
        #expect(board["judgements_without_models"]?.intValue == 10)
        // The scores are the fit of exactly the counted votes.
        let expected = BradleyTerryFit.ratings(try #require(BradleyTerryFit.fit(votes, models: 4)))
        for (entry, model) in zip(entries, Self.models) {
            let index = Self.models.firstIndex(of: model)!
            let score = try #require(entry["score"]?.doubleValue)
            #expect(abs(score - expected[index]) < 1e-9)
            let interval = (entry["ci95"]?.arrayValue ?? []).compactMap(\.doubleValue)
            #expect(interval.count == 2 && interval[0] < score && score < interval[1], "\(entry)")
        }
        let mean = entries.compactMap { $0["score"]?.doubleValue }.reduce(0, +) / 4
        #expect(abs(mean - 1000) < 1e-9)
        let winRate = try #require(board["win_rates"]?["llama-3-70b"]?["qwen-7b"]?.doubleValue)
        #expect(winRate > 0.6)
        // Bad options: a 400 naming them.
        for query in ["bootstrap=-1", "bootstrap=5000", "style_control=maybe", "colour=red"] {
            #expect(try app.call("GET", "/api/projects/\(project.id)/leaderboard?\(query)", reviewer).status == 400, "\(query)")
        }
        // Style control answers, with a coefficient.
        let styled = try app.call("GET", "/api/projects/\(project.id)/leaderboard?bootstrap=0&style_control=true", reviewer)
        #expect(styled.json["style_control"]?["length_coefficient"]?.doubleValue != nil, "\(styled.json)")

        // The command line: the same scores, as the contract's JSON.
        let cli = try CommandRunner.arbiter(["leaderboard", "--db", app.database, "--project", "arena", "--json", "--bootstrap", "50"])
        #expect(cli.status == 0, "\(cli)")
        let printed = try JSONValue.parse(cli.stdout)
        #expect(printed["models"]?.arrayValue?.compactMap { $0["score"]?.doubleValue } == entries.compactMap { $0["score"]?.doubleValue })
        let missing = try CommandRunner.arbiter(["leaderboard", "--db", app.database, "--project", "nope", "--json"])
        #expect(
            missing.status != 0 && missing.stderr.split(separator: "\n").count == 1 && missing.stderr.contains("no project named 'nope'"))
    }

    @Test(arguments: TestEngine.all)
    func saysWhenThereIsNoFit(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        defer { Task { await app.stop() } }
        let reviewer = try await app.user("rita", role: .reviewer)
        let project = try await app.seed { db in
            let project = try Projects.create(db, name: "lopsided", settings: ProjectSettings())
            let pairs = (0..<5).map {
                #"{"id":"p\#($0)","prompt":"q\#($0)","response_a":"a\#($0)","response_b":"b\#($0)","model_a":"big","model_b":"small"}"#
            }
            var reader = JSONLReader(bytes: Array(pairs.joined(separator: "\n").utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
            let votes = (0..<5).map { #"{"pair":"p\#($0)","annotator":"r","choice":"A"}"# }
            reader = JSONLReader(bytes: Array(votes.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
            return project
        }
        let (status, board) = try app.call("GET", "/api/projects/\(project.id)/leaderboard", reviewer)
        #expect(status == 200)
        #expect(board["models"]?.arrayValue?.count == 2 && board["models"]?.arrayValue?.allSatisfy { $0["score"] == .null } == true)
        #expect(board["message"]?.stringValue?.contains("never lost") == true, "\(board)")
        // An empty project: nothing to rank, said plainly.
        let empty = try await app.project(pairs: 2, name: "empty")
        let nothing = try app.call("GET", "/api/projects/\(empty.id)/leaderboard", reviewer)
        #expect(nothing.status == 200 && nothing.json["models"]?.arrayValue?.isEmpty == true && nothing.json["message"] != .null)
    }

    /// The review page lists the models, best first, with intervals and counts.
    @Test(.enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
    func reviewPageShowsTheModels() async throws {
        let app = try TestApp()
        defer { Task { await app.stop() } }
        let (project, _) = try await Self.seed(app)
        _ = try await app.person("rita", role: .reviewer)
        let browser = try WebDriver(width: 1400, height: 1000)
        try browser.signIn(app: app, as: "rita", to: "/projects/\(project.id)/review")
        try browser.wait(until: "!document.getElementById('leaderboard').hidden")
        let names = try JSONValue.parse(
            try browser.script(
                "return JSON.stringify([...document.querySelectorAll('#leaderboard-table tbody tr')].map((r) => r.children[1].textContent));"
            ).stringValue ?? "[]")
        #expect(names.arrayValue?.count == 4, "\(names)")
        #expect(names.arrayValue?.first?.stringValue == "llama-3-70b")
        #expect(try browser.element("#leaderboard-note").text.contains("battles"))
        if let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.script("document.getElementById('leaderboard').scrollIntoView();")
            try browser.screenshot(to: shots + "/review-leaderboard.png")
        }
    }
}
