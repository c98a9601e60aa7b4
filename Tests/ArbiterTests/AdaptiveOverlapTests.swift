@testable import Arbiter
import HTTPServer
import Agreement
import JSON
import Storage
import Testing
import TestSupport

/// Adaptive overlap and active selection through the real server: which pair
/// `next` offers, when a pair stops wanting judgements, and what the manifest says.
@Suite struct AdaptiveOverlapTests {
    /// Judges the assignment for `canonical` ("A" or "B") whichever side it is shown on.
    func judge(_ app: TestApp, _ token: String, _ assignment: JSONValue, _ canonical: String) throws -> Int {
        let left = assignment["left"]?.stringValue ?? ""
        let shown = (left.hasPrefix(canonical)) ? "left" : "right"
        let id = try #require(assignment["id"]?.intValue)
        return try app.submit(token, assignment: id, #"{"choice":"\#(shown)"}"#).0
    }

    func wanted(_ app: TestApp, _ pair: String) async throws -> Int {
        try await app.count("SELECT wanted FROM pairs WHERE external_id = '\(pair)'")
    }

    @Test(arguments: TestEngine.all)
    func agreeingPairsStopEarlyAndOnlyContestedOnesGetMore(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 3) { settings in
            settings.overlap = 5
            settings.minOverlap = 2
            settings.stopAgree = 2
        }
        var tokens: [String] = []
        for index in 0..<7 { tokens.append(try await app.user("rater\(index)")) }
        #expect(try await wanted(app, "p0") == 2, "a new pair wants the minimum")

        // p0: the first two agree → settled at two.
        for token in tokens[0..<2] {
            let (status, assignment) = try app.next(token, project: project.id)
            #expect(status == 200 && assignment?["pair_id"] == "p0")
            #expect(try judge(app, token, try #require(assignment), "A") == 201)
        }
        #expect(try await wanted(app, "p0") == 2)
        // p1: a dissent → one more, and the contested pair comes before fresh p2.
        for (token, answer) in zip(tokens[2..<4], ["A", "B"]) {
            let (_, assignment) = try app.next(token, project: project.id)
            #expect(assignment?["pair_id"] == "p1")
            #expect(try judge(app, token, try #require(assignment), answer) == 201)
        }
        #expect(try await wanted(app, "p1") == 3)
        let (_, third) = try app.next(tokens[4], project: project.id)
        #expect(third?["pair_id"] == "p1", "extra judgements go to the contested pair first")
        #expect(try judge(app, tokens[4], try #require(third), "A") == 201)
        #expect(try await wanted(app, "p1") == 4, "a lead of one is not yet two")
        let (_, fourth) = try app.next(tokens[5], project: project.id)
        #expect(fourth?["pair_id"] == "p1")
        #expect(try judge(app, tokens[5], try #require(fourth), "A") == 201)
        #expect(try await wanted(app, "p1") == 4, "settled at a lead of two")
        // Nobody is offered p0 or p1 again.
        let (_, fresh) = try app.next(tokens[6], project: project.id)
        #expect(fresh?["pair_id"] == "p2")

        let admin = try await app.user("boss", role: .admin)
        let dashboard = try app.call("GET", "/api/projects/\(project.id)/dashboard", admin)
        #expect(dashboard.json["pairs"]?["complete"] == 2, "p0 and p1 are settled: \(dashboard.json.jsonText)")
        let collection = dashboard.json["collection"]
        #expect(
            collection?["overlap"]?["policy"] == "adaptive" && collection?["overlap"]?["min"] == 2
                && collection?["overlap"]?["stop_agree"] == 2)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func weightedPosteriorTrustsRatersItKnows(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 4) { settings in
            settings.overlap = 3
            settings.minOverlap = 1
            settings.stopPosterior = 0.8
        }
        let expert = try await app.user("expert"), newcomer = try await app.user("newcomer"), other = try await app.user("other")
        #expect(try await wanted(app, "p0") == 1)
        // Unknown raters count as 75% right: one vote is not enough for 0.8, two agreeing are.
        let (_, first) = try app.next(newcomer, project: project.id)
        #expect(try judge(app, newcomer, try #require(first), "B") == 201)
        #expect(try await wanted(app, "p0") == 2)
        let (_, second) = try app.next(other, project: project.id)
        #expect(second?["pair_id"] == "p0")
        #expect(try judge(app, other, try #require(second), "B") == 201)
        #expect(try await wanted(app, "p0") == 2, "0.9 ≥ 0.8: settled")
        // Once the project knows the expert is 90% right, one of their votes settles a pair.
        try await app.seed { db in
            let id = try db.queryFirst("SELECT id FROM users WHERE username = 'expert'") { $0.int64(0) } ?? 0
            try db.run(
                "INSERT INTO rater_accuracy (project_id, user_id, accuracy, shared) VALUES (?, ?, 0.9, 50)",
                [.int(Int64(project.id)), .int(id)])
        }
        let (_, mine) = try app.next(expert, project: project.id)
        let pair = try #require(mine?["pair_id"]?.stringValue)
        #expect(try judge(app, expert, try #require(mine), "A") == 201)
        #expect(try await wanted(app, pair) == 1)

        // Switching the project back to fixed overlap re-decides every pair at once.
        let admin = try await app.user("boss", role: .admin)
        #expect(try app.call("PATCH", "/api/projects/\(project.id)", admin, #"{"min_overlap":null,"stop_posterior":null}"#).status == 200)
        #expect(try await app.count("SELECT count(*) FROM pairs WHERE wanted = 3") == 4)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func refreshedAccuraciesSettleOpenPairs(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 41) { settings in
            settings.overlap = 3
            settings.minOverlap = 1
            settings.stopPosterior = 0.8
        }
        // r0 and r1 agree on 40 pairs; r0 alone has judged p40, which an unknown
        // rater's vote (0.75) cannot settle.
        try await app.seed { db in
            var lines = (0..<40).flatMap { index in
                ["r0", "r1"].map { #"{"pair":"p\#(index)","annotator":"\#($0)","choice":"\#(index % 3 == 0 ? "B" : "A")"}"# }
            }
            lines.append(#"{"pair":"p40","annotator":"r0","choice":"A"}"#)
            var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
        }
        #expect(try await wanted(app, "p40") == 2)
        #expect(try await wanted(app, "p0") == 2, "two unknown raters agreeing: 0.9")
        try await AdaptiveWorker.refreshAccuracy(store: app.app.store, project: project)
        // Dawid–Skene puts both at ≈ 1; the Beta prior fitted to this crowd (two
        // raters, both ≈ 1) sits near 1 too, so both land above 0.95 — alone
        // enough for 0.8 (unit-tested against the likelihood in OverlapRuleTests).
        #expect(try await app.count("SELECT count(*) FROM rater_accuracy WHERE accuracy >= 0.95") == 2)
        #expect(try await wanted(app, "p40") == 1, "settled by the refreshed accuracy")
        #expect(try await wanted(app, "p0") == 2, "settled pairs keep their count")
        await app.stop()
    }

    /// Adaptive overlap without a threshold of the admin's: until the crowd is
    /// estimated a pair wants three agreeing votes (as fixed overlap 3 on a
    /// unanimous pair); the refresh chooses this crowd's threshold (stored, on the
    /// dashboard and in the manifest), weighs votes by class-conditional rates, and
    /// does not count a quarantined rater's vote.
    @Test(arguments: TestEngine.all)
    func automaticThresholdIsChosenForThisCrowdAndSkipsQuarantinedRaters(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 62) { settings in
            settings.overlap = 5
            settings.minOverlap = 1
        }
        #expect(project.settings.overlapRule.automatic)
        // Four careful raters agree on 60 pairs (two each, 97% alike); "lefty"
        // always says A; p60 has the votes of r0 and r1, p61 one of lefty.
        try await app.seed { db in
            var random = SplitMix(seed: 3)
            var lines: [String] = []
            for index in 0..<60 {
                let truth = index % 2 == 0 ? "A" : "B"
                for rater in ["r\(index % 4)", "r\((index + 1) % 4)"] {
                    let choice = random.next() % 100 < 97 ? truth : (truth == "A" ? "B" : "A")
                    lines.append(#"{"pair":"p\#(index)","annotator":"\#(rater)","choice":"\#(choice)"}"#)
                }
                lines.append(#"{"pair":"p\#(index)","annotator":"lefty","choice":"A"}"#)
            }
            lines.append(#"{"pair":"p60","annotator":"r0","choice":"A"}"#)
            lines.append(#"{"pair":"p60","annotator":"r1","choice":"A"}"#)
            lines.append(#"{"pair":"p61","annotator":"lefty","choice":"A"}"#)
            var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
        }
        #expect(try await wanted(app, "p60") == 3, "before the estimate: two unknown raters agreeing, 0.9 < 0.96")
        let admin = try await app.user("boss", role: .admin)
        let before = try app.call("GET", "/api/projects/\(project.id)/dashboard", admin).json["collection"]?["overlap"]
        #expect(before?["stop_posterior"] == "automatic")
        #expect(
            try app.call("GET", "/api/projects/\(project.id)/dashboard", admin).json["collection"]?["stop_threshold"]?["estimated"] == false
        )

        try await AdaptiveWorker.refreshAccuracy(store: app.app.store, project: project)
        let stored = try #require(try await app.seed { db in try SelectionModels.threshold(db, projectID: project.id) })
        #expect(stored.expectedError <= stored.fixedThreeError, "\(stored)")
        #expect(stored.threshold < 0.96 && stored.expectedJudgements < 3, "a clean crowd stops early: \(stored)")
        // lefty's "A" carries almost nothing (they say A whatever the pair): pick_a ≈ 1, pick_b ≈ 0.
        let rates = try await app.seed { db in
            try db.queryFirst("SELECT r.pick_a, r.pick_b FROM rater_accuracy r JOIN users u ON u.id = r.user_id WHERE u.username = 'lefty'")
            {
                ($0.double(0), $0.double(1))
            }
        }
        #expect((rates?.0 ?? 0) > 0.9 && (rates?.1 ?? 1) < 0.2, "\(String(describing: rates))")
        #expect(try await wanted(app, "p61") == 2, "lefty's A settles nothing")
        #expect(try await wanted(app, "p60") == 2, "r0 and r1, known to be right, settle p60 at this crowd's threshold")
        let dashboard = try app.call("GET", "/api/projects/\(project.id)/dashboard", admin).json["collection"]
        #expect(dashboard?["stop_threshold"]?["threshold"]?.doubleValue == stored.threshold)
        #expect(dashboard?["rater_accuracy"]?["counted"] == 4, "lefty is flagged: spent, not counted")

        // A quarantined rater's votes are spent, not counted: p60, settled with r0's vote, opens again
        // (r1 alone is one rater's word).
        let r0 = try #require(try await app.seed { db in try Users.find(db, username: "r0")?.id })
        try await app.seed { db in
            try RaterStatus.set(db, projectID: project.id, userID: r0, decision: .quarantined, comment: "test", by: 1, now: 0)
        }
        try await AdaptiveWorker.refreshAccuracy(store: app.app.store, project: project)
        #expect(try await wanted(app, "p60") == 3)
        #expect(try app.call("GET", "/api/projects/\(project.id)/dashboard", admin).json["collection"]?["rater_accuracy"]?["counted"] == 3)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func settingsAreValidatedWithFieldNames(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let admin = try await app.user("boss", role: .admin)
        for (body, field) in [
            (#"{"name":"x","overlap":3,"min_overlap":4,"stop_agree":2}"#, "min_overlap"),
            (#"{"name":"x","min_overlap":1,"stop_posterior":1}"#, "stop_posterior"),
            (#"{"name":"x","min_overlap":1,"stop_posterior":"high"}"#, "stop_posterior"),
            (#"{"name":"x","min_overlap":1,"stop_agree":0}"#, "stop_agree"),
            (#"{"name":"x","active_random_share":2}"#, "active_random_share"),
            (#"{"name":"x","active_retrain_every":1}"#, "active_retrain_every"),
            (#"{"name":"x","active_selection":"on"}"#, "active_selection"),
        ] {
            let refused = try app.call("POST", "/api/projects", admin, body)
            #expect(refused.status == 400, "\(body)")
            #expect(refused.json["error"]?["message"]?.stringValue?.contains(field) == true, "\(body): \(refused.json.jsonText)")
        }
        let created = try app.call(
            "POST", "/api/projects", admin,
            #"{"name":"adaptive","overlap":5,"min_overlap":2,"stop_agree":2,"stop_posterior":0.9,"active_selection":true}"#)
        #expect(created.status == 201)
        let project = try #require(created.json["project"])
        #expect(project["min_overlap"] == 2 && project["stop_agree"] == 2 && project["stop_posterior"] == 0.9)
        #expect(project["active_selection"] == true && project["active_random_share"] == 0.2 && project["active_retrain_every"] == 500)
        #expect(try await app.count("SELECT count(*) FROM projects") == 1, "refused projects were not created")
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func activeSelectionOffersTheLeastCertainPairsFirst(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        // 40 judged pairs teach "helpful … beats rude …"; of the untouched ones, p40–p49
        // are of that kind (the model is sure) and p50–p59 are alike (it cannot tell).
        let project = try await app.seed { db in
            var settings = ProjectSettings()
            settings.overlap = 1
            settings.activeSelection = true
            settings.activeRandomShare = 0
            let project = try Projects.create(db, name: "active", settings: settings)
            var lines: [String] = []
            for index in 0..<50 {
                lines.append(
                    #"{"id":"p\#(index)","prompt":"q\#(index)","response_a":"helpful careful clear answer \#(index)","response_b":"rude lazy wrong reply \#(index)"}"#
                )
            }
            for index in 50..<60 {
                lines.append(
                    #"{"id":"p\#(index)","prompt":"q\#(index)","response_a":"plain note \#(index)","response_b":"plain text \#(index)"}"#)
            }
            var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
            let judgements = (0..<40).map { #"{"pair":"p\#($0)","annotator":"r\#($0 % 4)","choice":"A"}"# }
            var annotations = JSONLReader(bytes: Array(judgements.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &annotations, options: ImportOptions())
            return project
        }
        let (_, before) = try app.next(try await app.user("early"), project: project.id)
        #expect(before?["pair_id"] == "p40", "no model yet: in order")

        try await AdaptiveWorker.retrain(store: app.app.store, project: project, now: 0)
        let certain = try await app.count(
            "SELECT count(*) FROM pairs WHERE priority BETWEEN -0.7 AND -0.5 AND external_id IN (\((41..<50).map { "'p\($0)'" }.joined(separator: ",")))"
        )
        let unsure = try await app.count(
            "SELECT count(*) FROM pairs WHERE priority < -0.9 AND external_id IN (\((50..<60).map { "'p\($0)'" }.joined(separator: ",")))")
        #expect(certain == 9 && unsure == 10, "queued: priority = |P(A better) − 0.5| − 1")
        let annotator = try await app.user("annotator")
        let (_, offered) = try app.next(annotator, project: project.id)
        let offeredID = try #require(offered?["pair_id"]?.stringValue)
        #expect((50..<60).map { "p\($0)" }.contains(offeredID), "the least certain first, got \(offeredID)")
        #expect(try await app.count("SELECT count(*) FROM assignments WHERE selection = 'model'") == 1, "before the model: in order")

        // With a random share of 1 every fresh pair is drawn at random, and says so.
        let admin = try await app.user("boss", role: .admin)
        #expect(try app.call("PATCH", "/api/projects/\(project.id)", admin, #"{"active_random_share":1}"#).status == 200)
        let (_, drawn) = try app.next(try await app.user("third"), project: project.id)
        #expect(drawn != nil)
        #expect(try await app.count("SELECT count(*) FROM assignments WHERE selection = 'random'") == 1)

        // The export manifest records the policy.
        let dashboard = try app.call("GET", "/api/projects/\(project.id)/dashboard", admin)
        let collection = dashboard.json["collection"]
        #expect(collection?["selection"]?["policy"] == "active")
        #expect(collection?["selection_model"]?["retrains"] == 1 && collection?["selection_model"]?["trained_pairs"] == 40)
        let directory = TemporaryDirectory()
        let out = directory.path + "/data.jsonl"
        let manifest = try await app.app.store.pool.read { db in
            let project = try #require(try Projects.find(db, id: project.id))
            return try Exporter.run(db, project: project, options: ExportOptions(), out: out, now: 0).json
        }
        #expect(manifest["collection"]?["selection"]?["policy"] == "active")
        #expect(manifest["collection"]?["selection"]?["random_share"] == 1.0)
        #expect(manifest["collection"]?["overlap"]?["policy"] == "fixed")
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func theSelectionModelRetrainsInTheBackground(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 40) { settings in
            settings.overlap = 1
            settings.activeSelection = true
            settings.activeRetrainEvery = 20
        }
        let token = try await app.user("annotator")
        for _ in 0..<20 {
            let (_, assignment) = try app.next(token, project: project.id)
            #expect(try judge(app, token, try #require(assignment), "A") == 201)
        }
        var retrains = 0
        for _ in 0..<200 where retrains == 0 {
            retrains = try await app.count("SELECT coalesce(max(retrains), 0) FROM selection_models")
            if retrains == 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(retrains == 1, "after 20 judgements the model was trained once")
        #expect(try await app.count("SELECT scored_pairs FROM selection_models") == 20)
        await app.stop()
    }
}
