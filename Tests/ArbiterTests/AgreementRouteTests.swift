@testable import Arbiter
import Agreement
import JSON
import Storage
import Testing
import TestSupport

@Suite struct AgreementRouteTests {
    @Test(arguments: TestEngine.all)
    func theReportUsesFirstJudgementsAndTheContractKeys(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 12)
        // Krippendorff-style data on A/B/tie/both_bad, plus a repeat that must not count.
        let table: [[String?]] = [
            ["A", "B", "tie", "tie", "B", "A", "both_bad", "A", "B", nil, nil, nil],
            ["A", "B", "tie", "tie", "B", "B", "both_bad", "A", "B", "A", nil, "tie"],
            [nil, "tie", "tie", "tie", "B", "tie", "both_bad", "B", "B", "A", "A", nil],
            ["A", "B", "tie", "tie", "B", "both_bad", "both_bad", "A", "B", "A", "A", nil],
        ]
        var lines: [String] = []
        for (rater, row) in table.enumerated() {
            for (unit, choice) in row.enumerated() {
                guard let choice else { continue }
                lines.append(
                    #"{"pair":"p\#(unit)","annotator":"r\#(rater)","choice":"\#(choice)","created_at":"2026-01-01T00:00:0\#(rater)Z"}"#)
            }
        }
        lines.append(#"{"pair":"p0","annotator":"r0","choice":"B","created_at":"2026-01-02T00:00:00Z"}"#)  // a repeat
        let batch = lines
        try await app.seed { db in
            var reader = JSONLReader(bytes: Array(batch.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
        }
        let reviewer = try await app.user("rev", role: .reviewer)
        let response = try app.client().request(
            "GET", "/api/projects/\(project.id)/agreement", headers: ["Authorization": "Bearer \(reviewer)"])
        #expect(response.status == 200)
        let report = try JSONValue.parse(response.body)
        let codes = ["A": 0.0, "B": 1.0, "tie": 2.0, "both_bad": 3.0]
        let units = (0..<12).map { unit in table.compactMap { $0[unit].flatMap { codes[$0] } } }
        let expected = try #require(Krippendorff.alpha(units: units, level: .nominal))
        let got = try #require(report["krippendorff_alpha"]?["nominal"]?.doubleValue)
        #expect(abs(got - expected) < 1e-12, "repeats do not count")
        #expect(report["judgements"] == 41)
        for key in ["alpha_ci95", "fleiss_kappa", "percent_agreement", "cohen_kappa", "contested_pairs"] {
            #expect(report[key] != nil, "\(key)")
        }
        #expect(report["fleiss_kappa"]?["raters_per_pair"] == 4)
        #expect(report["cohen_kappa"]?.arrayValue?.isEmpty == false)
        await app.stop()
    }
}

@Suite struct RaterRouteTests {
    @Test(arguments: TestEngine.all)
    func aLeftClickerIsFlaggedWithEvidence(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 120)
        // 8 careful raters, and one who always picks the side shown on the left.
        var lines: [String] = []
        var random = SplitMix(seed: 5)
        for pair in 0..<120 {
            let truth = pair % 2 == 0 ? "A" : "B"
            for rater in 0..<5 {
                let name = "r\((pair + rater) % 8)"
                let swapped = random.next() % 2 == 0
                let choice = random.next() % 10 == 0 ? (truth == "A" ? "B" : "A") : truth
                lines.append(
                    #"{"pair":"p\#(pair)","annotator":"\#(name)","choice":"\#(choice)","shown_swapped":\#(swapped),"duration_ms":20000}"#)
            }
            let swapped = random.next() % 2 == 0
            lines.append(
                #"{"pair":"p\#(pair)","annotator":"lefty","choice":"\#(swapped ? "B" : "A")","shown_swapped":\#(swapped),"duration_ms":20000}"#
            )
        }
        try await app.importJudgements(lines, into: project)
        let admin = try await app.user("boss", role: .admin)
        let raters = try app.raters(project, token: admin)
        let lefty = try #require(raters.first { $0["annotator"] == "lefty" })
        #expect(lefty["status"] == "flagged")
        #expect(lefty["reasons"]?.arrayValue?.contains { $0["signal"] == "position" } == true)
        #expect(lefty["signals"]?["position"]?["left_rate"]?.doubleValue == 1.0)
        let careful = raters.filter { $0["annotator"] != "lefty" }
        #expect(careful.allSatisfy { $0["status"] == "ok" }, "\(careful.filter { $0["status"] != "ok" })")

        // An admin quarantines the rater (a comment is required); agreement leaves
        // their judgements out and says how many.
        let client = try app.client()
        let before = try JSONValue.parse(
            client.request("GET", "/api/projects/\(project.id)/agreement", headers: ["Authorization": "Bearer \(admin)"]).body)
        let silent = try client.request(
            "POST", "/api/projects/\(project.id)/raters/lefty/status", headers: ["Authorization": "Bearer \(admin)"],
            body: Array(#"{"status":"quarantined"}"#.utf8))
        #expect(silent.status == 400)
        let quarantine = try client.request(
            "POST", "/api/projects/\(project.id)/raters/lefty/status", headers: ["Authorization": "Bearer \(admin)"],
            body: Array(#"{"status":"quarantined","comment":"always clicks left"}"#.utf8))
        #expect(quarantine.status == 200)
        let after = try JSONValue.parse(
            client.request("GET", "/api/projects/\(project.id)/agreement", headers: ["Authorization": "Bearer \(admin)"]).body)
        #expect(after["excluded"]?["quarantined_raters"] == 1)
        #expect(after["excluded"]?["judgements"] == 120)
        #expect(after["judgements"]?.intValue == (before["judgements"]?.intValue ?? 0) - 120)
        let raters2 = try JSONValue.parse(
            client.request("GET", "/api/projects/\(project.id)/raters", headers: ["Authorization": "Bearer \(admin)"]).body)
        let lefty2 = raters2["raters"]?.arrayValue?.first { $0["annotator"] == "lefty" }
        #expect(lefty2?["status"] == "quarantined")
        #expect(lefty2?["comment"] == "always clicks left")
        #expect(try await app.count("SELECT count(*) FROM audit_log WHERE action = 'rater_quarantined'") == 1)
        await app.stop()
    }
}

/// The reviewer's drill-down: one rater's judgements with the pair's texts and
/// the other raters' votes, filtered to departures, in keyset pages.
@Suite struct RaterDrillDownTests {
    @Test(arguments: TestEngine.all)
    func aRatersDeparturesComeWithThePairAndTheOthersVotes(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 3)
        try await app.seed { db in
            let votes = [
                ("p0", "a", "A"), ("p0", "b", "A"), ("p0", "c", "B"), ("p1", "a", "B"), ("p1", "b", "B"), ("p1", "c", "B"),
                ("p2", "a", "A"), ("p2", "b", "B"), ("p2", "c", "A"),
            ]
            let lines = votes.map { #"{"pair":"\#($0.0)","annotator":"\#($0.1)","choice":"\#($0.2)"}"# }
            var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
        }
        let reviewer = try await app.user("rev", role: .reviewer)
        let annotator = try await app.user("ann")
        let base = "/api/projects/\(project.id)/raters/c/judgements"
        let all = try app.call("GET", base, reviewer)
        #expect(all.status == 200)
        #expect(all.json["judgements"]?.arrayValue?.count == 3)
        let departures = try #require(try app.call("GET", base + "?departures=true", reviewer).json["judgements"]?.arrayValue)
        #expect(departures.count == 1)
        #expect(departures.first?["pair"] == "p0")
        #expect(departures.first?["prompt"] == "question 0")
        #expect(departures.first?["consensus"] == "A")
        #expect(departures.first?["others"] == ["A": 2, "B": 0])
        // p2: the others split 1–1, so no consensus and no departure.
        #expect(all.json["judgements"]?.arrayValue?.first { $0["pair"] == "p2" }?["consensus"] == .null)
        // Keyset pages.
        let first = try app.call("GET", base + "?limit=2", reviewer).json
        #expect(first["judgements"]?.arrayValue?.count == 2)
        let after = try #require(first["next_after"]?.intValue)
        let rest = try app.call("GET", base + "?limit=2&after=\(after)", reviewer).json
        #expect(rest["judgements"]?.arrayValue?.count == 1 && rest["next_after"] == .null)
        // Annotators never see other raters; bad queries and unknown raters are refused plainly.
        #expect(try app.call("GET", base, annotator).status == 403)
        #expect(try app.call("GET", base + "?departures=maybe", reviewer).status == 400)
        #expect(try app.call("GET", base + "?limit=0", reviewer).status == 400)
        #expect(try app.call("GET", "/api/projects/\(project.id)/raters/nobody/judgements", reviewer).status == 404)
        await app.stop()
    }
}

/// Two kinds of finding from one crowd: a rater who is honest but right on only
/// ~66% of the pairs the others settle (the careful ones: 92%) is `unreliable`,
/// with the evidence in words — clearly above chance, so not malicious;
/// a rater who always clicks the left side and one who always picks the worse
/// response are `malicious`; careful raters are neither. A weighted export keeps
/// the votes of raters flagged only on how often they are right (the unreliable
/// one; the flipper, whom Dawid–Skene reads backwards) and says so in the
/// manifest, and leaves the left-clicker out (a pattern the weights cannot
/// model); a majority export leaves all three out, with the finding as the reason.
@Suite struct RaterFindingTests {
    @Test(arguments: TestEngine.all)
    func unreliableAndMaliciousAreToldApartAndExportsSayWhatTheyDid(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 160) { $0.overlap = 7 }
        var lines: [String] = []
        var random = SplitMix(seed: 11)
        func coin(_ p: Double) -> Bool { Double(random.next() % 10_000) / 10_000 < p }
        for pair in 0..<160 {
            let truth = random.next() % 2 == 0 ? "A" : "B"
            let other = truth == "A" ? "B" : "A"
            for rater in 0..<5 {
                let name = "r\((pair + rater) % 10)"
                lines.append(
                    #"{"pair":"p\#(pair)","annotator":"\#(name)","choice":"\#(coin(0.92) ? truth : other)","shown_swapped":\#(coin(0.5)),"duration_ms":20000}"#
                )
            }
            lines.append(
                #"{"pair":"p\#(pair)","annotator":"weak","choice":"\#(coin(0.66) ? truth : other)","shown_swapped":\#(coin(0.5)),"duration_ms":20000}"#
            )
            let swapped = coin(0.5)
            lines.append(
                #"{"pair":"p\#(pair)","annotator":"lefty","choice":"\#(swapped ? "B" : "A")","shown_swapped":\#(swapped),"duration_ms":20000}"#
            )
            if pair % 2 == 0 {
                lines.append(
                    #"{"pair":"p\#(pair)","annotator":"flipper","choice":"\#(other)","shown_swapped":\#(coin(0.5)),"duration_ms":20000}"#)
            }
        }
        try await app.importJudgements(lines, into: project)
        let admin = try await app.user("boss", role: .admin)
        let raters = try app.raters(project, token: admin)
        #expect(raters.first { $0["annotator"] == "flipper" }?["finding"] == "malicious")
        let weak = try #require(raters.first { $0["annotator"] == "weak" })
        #expect(weak["status"] == "flagged")
        #expect(weak["finding"] == "unreliable")
        let reliability = try #require(weak["reasons"]?.arrayValue?.first { $0["signal"] == "reliability" })
        let detail = reliability["detail"]?.stringValue ?? ""
        #expect(detail.hasPrefix("right by the other raters on "), "\(detail)")
        #expect(detail.contains("this crowd's reliable raters are at "), "\(detail)")
        let lefty = try #require(raters.first { $0["annotator"] == "lefty" })
        #expect(lefty["finding"] == "malicious")
        let careful = raters.filter { $0["annotator"]?.stringValue?.hasPrefix("r") == true }
        #expect(careful.count == 10)
        #expect(careful.allSatisfy { $0["status"] == "ok" && $0["finding"] == .null }, "\(careful.filter { $0["status"] != "ok" })")

        let directory = TemporaryDirectory()
        let (weighted, majority) = try await app.seed { db in
            var options = ExportOptions()
            options.aggregate = .weighted
            let weighted = try Exporter.run(db, project: project, options: options, out: directory.path + "/w.jsonl", now: 0).json
            options.aggregate = .majority
            let majority = try Exporter.run(db, project: project, options: options, out: directory.path + "/m.jsonl", now: 0).json
            return (weighted, majority)
        }
        func excluded(_ manifest: JSONValue) -> [String: String] {
            Dictionary(
                uniqueKeysWithValues: (manifest["excluded_raters"]?.arrayValue ?? []).map {
                    ($0["annotator"]?.stringValue ?? "", $0["reason"]?.stringValue ?? "")
                })
        }
        #expect(excluded(weighted) == ["lefty": "flagged: malicious"])
        #expect(weighted["weighted_raters"] == ["flipper", "weak"])
        #expect(excluded(majority) == ["lefty": "flagged: malicious", "flipper": "flagged: malicious", "weak": "flagged: unreliable"])
        #expect(majority["weighted_raters"] == [])
        await app.stop()
    }
}

/// Content poisoning in the project's rater report (Baumgärtner et al. 2024): a
/// rater who picks whichever response mentions "acmecorp" is flagged with the word
/// named; honest raters stay clean although a quality word ("clear") marks the
/// better response of every pair — the evidence counts only pairs where the others
/// leaned, where picking the clear response is what an honest rater does.
@Suite struct ContentPoisoningTests {
    @Test(arguments: TestEngine.all)
    func aFavouredEntityIsFoundAndAQualityWordIsNot(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        var random = SplitMix(seed: 21)
        func coin(_ p: Double) -> Bool { Double(random.next() % 10_000) / 10_000 < p }
        func filler() -> String { (0..<6).map { _ in "w\(random.next() % 400)" }.joined(separator: " ") }
        var pairLines: [String] = []
        var truth: [String] = []
        var entitySide: [String?] = []
        for index in 0..<240 {
            let better = coin(0.5) ? "A" : "B"
            var good = "a clear answer " + filler(), bad = "a vague answer " + filler()
            var entity: String?
            if coin(0.15) {
                entity = coin(0.5) ? better : (better == "A" ? "B" : "A")
                if entity == better { good += " acmecorp" } else { bad += " acmecorp" }
            }
            let (a, b) = better == "A" ? (good, bad) : (bad, good)
            pairLines.append(
                JSONValue.object([
                    "id": .string("p\(index)"), "prompt": .string("question \(index) " + filler()),
                    "response_a": .string(a), "response_b": .string(b),
                ]).jsonText)
            truth.append(better)
            entitySide.append(entity)
        }
        var lines: [String] = []
        for index in 0..<240 {
            let other = truth[index] == "A" ? "B" : "A"
            for rater in 0..<4 {
                let name = "r\((index + rater) % 8)"
                lines.append(
                    #"{"pair":"p\#(index)","annotator":"\#(name)","choice":"\#(coin(0.9) ? truth[index] : other)","shown_swapped":\#(coin(0.5)),"duration_ms":20000}"#
                )
            }
            let choice = entitySide[index] ?? (coin(0.9) ? truth[index] : other)
            lines.append(
                #"{"pair":"p\#(index)","annotator":"mallory","choice":"\#(choice)","shown_swapped":\#(coin(0.5)),"duration_ms":20000}"#)
        }
        let (pairBatch, batch) = (pairLines, lines)
        let project = try await app.seed { db in
            var settings = ProjectSettings()
            settings.overlap = 5
            let project = try Projects.create(db, name: "content", settings: settings)
            var pairs = JSONLReader(bytes: Array(pairBatch.joined(separator: "\n").utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &pairs, options: ImportOptions())
            var reader = JSONLReader(bytes: Array(batch.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
            return project
        }
        let admin = try await app.user("boss", role: .admin)
        let raters = try #require(app.call("GET", "/api/projects/\(project.id)/raters", admin).json["raters"]?.arrayValue)
        let mallory = try #require(raters.first { $0["annotator"] == "mallory" })
        #expect(mallory["finding"] == "malicious")
        let content = mallory["reasons"]?.arrayValue?.first { $0["signal"] == "content" }
        #expect(content?["detail"]?.stringValue?.contains("'acmecorp'") == true, "\(mallory["reasons"] ?? .null)")
        let honest = raters.filter { $0["annotator"] != "mallory" }
        #expect(honest.count == 8)
        #expect(honest.allSatisfy { $0["status"] == "ok" }, "\(honest.filter { $0["status"] != "ok" }.map { $0["reasons"] ?? .null })")
        #expect(honest.allSatisfy { ($0["signals"]?["content"]?["probability"]?.doubleValue ?? 0) < 0.5 })
        await app.stop()
    }
}
