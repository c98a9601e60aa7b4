@testable import Arbiter
import JSON
import Storage
import Testing
import TestSupport

/// The annotation loop over real HTTP: next → submit, leases, overlap, idempotency.
@Suite struct AnnotationLoopTests {
    @Test(arguments: TestEngine.all)
    func nextThenSubmitStoresTheCanonicalChoice(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 40)
        let token = try await app.user("ann")
        var sawSwapped = false
        var sawStraight = false
        for _ in 0..<40 {
            let (status, assignment) = try app.next(token, project: project.id)
            #expect(status == 200)
            let a = try #require(assignment)
            let pairNumber = try #require(a["pair_id"]?.stringValue?.dropFirst())
            // left/right are the responses as shown; canonical A/B come back.
            let leftIsA = a["left"]?.stringValue == "A\(pairNumber)"
            if leftIsA { sawStraight = true } else { sawSwapped = true }
            #expect(a["right"]?.stringValue == (leftIsA ? "B\(pairNumber)" : "A\(pairNumber)"))
            let (created, body) = try app.submit(
                token, assignment: try #require(a["id"]?.intValue), #"{"choice":"left","strength":3,"duration_ms":1500}"#)
            #expect(created == 201)
            #expect(body["annotation"]?["choice"]?.stringValue == (leftIsA ? "A" : "B"))
            #expect(body["annotation"]?["shown_swapped"]?.boolValue == !leftIsA)
            #expect(body["annotation"]?["strength"] == 3)
            #expect(body["annotation"]?["duration_ms"] == 1500)
        }
        #expect(sawSwapped && sawStraight, "which side is shown left is random")
        #expect(try app.next(token, project: project.id).0 == 204, "nothing left for this annotator")
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func askingAgainReturnsTheSameLease(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 5)
        let token = try await app.user("ann")
        let first = try app.next(token, project: project.id).1
        let second = try app.next(token, project: project.id).1
        #expect(first != nil && first == second)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func submitIsIdempotent(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 3) {
            $0.aspects = ["helpfulness", "honesty"]
            $0.strengthEnabled = true
        }
        let token = try await app.user("ann")
        let id = try #require(app.next(token, project: project.id).1?["id"]?.intValue)
        // Every field a judgement stores: the first answer is built from what was
        // written (no read-back), the replay is read from the database.
        let judgement =
            #"{"choice":"right","strength":2,"rationale":"clearer","aspects":{"helpfulness":"right","honesty":"left"},"duration_ms":4100}"#
        let (first, body) = try app.submit(token, assignment: id, judgement)
        let (again, replay) = try app.submit(token, assignment: id, #"{"choice":"left"}"#)
        #expect(first == 201)
        #expect(again == 200)
        #expect(replay == body, "\(replay) != \(body)")
        #expect(body["annotation"]?["strength"]?.intValue == 2 && body["annotation"]?["duration_ms"]?.intValue == 4100)
        #expect(try await app.count("SELECT count(*) FROM annotations") == 1)
        await app.stop()
    }

    /// Admins choose which annotators a project is for (default: everyone); to
    /// anyone else it does not exist. Finished projects leave annotators' lists.
    /// Gold is only mixed into normal work: a late joiner with nothing normal left
    /// gets 204, not the unseen gold pairs (which would say "this is gold"), and no
    /// annotator reads the gold or repeat rate.
    @Test(arguments: TestEngine.all)
    func goldIsNeverTheOnlyThingLeft(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 3) {
            $0.goldRate = 0.5; $0.repeatRate = 0.2; $0.overlap = 1
        }
        try await app.seed { db in
            var reader = JSONLReader(
                bytes: Array(
                    (0..<5).map { #"{"id":"g\#($0)","prompt":"gold \#($0)","response_a":"right","response_b":"wrong","gold":"A"}"# }.joined(
                        separator: "\n"
                    ).utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
        }
        let (ann, late) = (try await app.user("ann"), try await app.user("late"))
        let admin = try await app.user("boss", role: .admin)
        var normal = 0
        while true {
            let (status, assignment) = try app.next(ann, project: project.id)
            guard status == 200, let assignment else { break }
            if assignment["kind"]?.stringValue == "normal" { normal += 1 }
            _ = try app.submit(ann, assignment: try #require(assignment["id"]?.intValue), #"{"choice":"left"}"#)
        }
        #expect(normal == 3)
        #expect(try app.next(late, project: project.id).0 == 204, "nothing normal left: no gold either")
        #expect(try app.call("GET", "/api/projects/\(project.id)/progress", late).json["progress"]?["left"] == 0)
        let seen = try app.call("GET", "/api/projects/\(project.id)", late).json["project"]
        #expect(seen?["gold_rate"] == nil && seen?["repeat_rate"] == nil && seen?["overlap"] == 1)
        let listed = try app.call("GET", "/api/projects", late).json["projects"]?.arrayValue ?? []
        #expect(listed.allSatisfy { $0["gold_rate"] == nil && $0["repeat_rate"] == nil })
        #expect(try app.call("GET", "/api/projects/\(project.id)", admin).json["project"]?["gold_rate"] == 0.5)
        await app.stop()
    }

    /// A members-only project answers 404 to others everywhere (progress too), and
    /// removing an annotator ends their live lease.
    @Test(arguments: TestEngine.all)
    func removedAnnotatorsLoseTheirLeases(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 4) { $0.overlap = 1 }
        let (ann, bea) = (try await app.user("ann"), try await app.user("bea"))
        let admin = try await app.user("boss", role: .admin)
        let (status, assignment) = try app.next(bea, project: project.id)
        #expect(status == 200)
        #expect(try app.call("PUT", "/api/projects/\(project.id)/members", admin, #"{"usernames":["ann"]}"#).status == 200)
        #expect(try app.call("GET", "/api/projects/\(project.id)/progress", bea).status == 404)
        let late = try app.submit(bea, assignment: try #require(assignment?["id"]?.intValue), #"{"choice":"left"}"#)
        #expect(late.0 == 409, "the lease ended with the membership: \(late.1)")
        #expect(try await app.count("SELECT count(*) FROM annotations") == 0)
        var judged = 0
        while case (200, let next?) = try app.next(ann, project: project.id) {
            #expect(try app.submit(ann, assignment: try #require(next["id"]?.intValue), #"{"choice":"left"}"#).0 == 201)
            judged += 1
        }
        #expect(judged == 4, "bea's slot came back to the project")
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func membersOnlyProjectsAndFinishedOnesAreHiddenFromOthers(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 2) { $0.overlap = 1 }
        let (ann, bea) = (try await app.user("ann"), try await app.user("bea"))
        let admin = try await app.user("boss", role: .admin)
        let reviewer = try await app.user("rev", role: .reviewer)
        func listed(_ token: String) throws -> [String] {
            (try app.call("GET", "/api/projects", token).json["projects"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        }
        #expect(try app.call("GET", "/api/projects/\(project.id)/members", admin).json == ["open_to_everyone": true, "members": []])
        #expect(try listed(bea) == ["p"])
        for bad in [#"{"usernames":["nobody"]}"#, #"{"usernames":["rev"]}"#, #"{"usernames":"ann"}"#, #"{"names":[]}"#] {
            #expect(try app.call("PUT", "/api/projects/\(project.id)/members", admin, bad).status == 400, "\(bad)")
        }
        #expect(try app.call("PUT", "/api/projects/\(project.id)/members", reviewer, #"{"usernames":[]}"#).status == 403)
        let set = try app.call("PUT", "/api/projects/\(project.id)/members", admin, #"{"usernames":["ann"]}"#)
        #expect(set.status == 200 && set.json == ["open_to_everyone": false, "members": ["ann"]], "\(set.json)")
        // bea no longer sees it, leases nothing, and cannot tell it exists.
        #expect(try listed(bea) == [])
        #expect(try app.next(bea, project: project.id).0 == 404)
        #expect(try app.call("GET", "/api/projects/\(project.id)", bea).status == 404)
        #expect(try listed(ann) == ["p"])
        #expect(try listed(reviewer) == ["p"], "reviewers and admins are not limited")
        // ann finishes it: gone from her list, still in the admin's.
        for _ in 0..<2 {
            let (status, assignment) = try app.next(ann, project: project.id)
            #expect(status == 200)
            #expect(try app.submit(ann, assignment: try #require(assignment?["id"]?.intValue), #"{"choice":"left"}"#).0 == 201)
        }
        #expect(try listed(ann) == [])
        #expect(try listed(admin) == ["p"])
        #expect(try await app.count("SELECT count(*) FROM audit_log WHERE action = 'project_members_set'") == 1)
        // Opening it to everyone again.
        #expect(try app.call("PUT", "/api/projects/\(project.id)/members", admin, #"{"usernames":[]}"#).json["open_to_everyone"] == true)
        #expect(try app.next(bea, project: project.id).0 == 204, "open again, and nothing left")
        await app.stop()
    }

    /// A project may cap one annotator's judgements: at the cap they get 204,
    /// others carry on; the cap is a validated setting.
    @Test(arguments: TestEngine.all)
    func aCapOnJudgementsPerAnnotatorIsKept(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 10) { $0.maxPerAnnotator = 3 }
        let (ann, bea) = (try await app.user("ann"), try await app.user("bea"))
        for _ in 0..<3 {
            let (status, assignment) = try app.next(ann, project: project.id)
            #expect(status == 200)
            #expect(try app.submit(ann, assignment: try #require(assignment?["id"]?.intValue), #"{"choice":"left"}"#).0 == 201)
        }
        #expect(try app.next(ann, project: project.id).0 == 204, "ann reached the cap")
        #expect(try app.next(bea, project: project.id).0 == 200, "bea has her own")
        let admin = try await app.user("boss", role: .admin)
        let refused = try app.call("PATCH", "/api/projects/\(project.id)", admin, #"{"max_per_annotator":-1}"#)
        #expect(refused.status == 400)
        #expect(refused.json["error"]?["message"]?.stringValue?.hasPrefix("max_per_annotator") == true, "\(refused.json)")
        let raised = try app.call("PATCH", "/api/projects/\(project.id)", admin, #"{"max_per_annotator":4}"#)
        #expect(raised.status == 200, "\(raised.json)")
        #expect(raised.json["max_per_annotator"] == 4 || raised.json["project"]?["max_per_annotator"] == 4, "\(raised.json)")
        #expect(try app.next(ann, project: project.id).0 == 200, "one more after raising the cap")
        await app.stop()
    }

    /// One annotator asking many times at once (tabs, retries landing on other
    /// connections): one lease, the same answer to every request. On PostgreSQL
    /// these race on separate connections with no lock between them; the unique
    /// index `assignments_live` makes all but the first insert fail and answer
    /// with the first one's lease.
    @Test(arguments: TestEngine.all)
    func concurrentNextsOfOneAnnotatorShareOneLease(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 20) { $0.overlap = 3 }
        let token = try await app.user("ann")
        for round in 0..<5 {
            let ids = try await withThrowingTaskGroup(of: Int64?.self) { group in
                for _ in 0..<8 { group.addTask { try app.next(token, project: project.id).1?["id"]?.intValue } }
                var ids: [Int64?] = []
                for try await id in group { ids.append(id) }
                return ids
            }
            #expect(Set(ids).count == 1 && ids.first! != nil, "round \(round): \(ids)")
            #expect(try await app.count("SELECT count(*) FROM assignments WHERE state = 'leased'") == 1)
            #expect(try await app.count("SELECT sum(active_count) FROM pairs") == round + 1, "no slot taken by a lease that lost")
            _ = try app.submit(token, assignment: try #require(ids.first ?? nil), #"{"choice":"left"}"#)
        }
        await app.stop()
    }

    /// The same submit sent many times at once (a retry on another node while the
    /// first is still running): one judgement stored, one 201, the rest 200 with
    /// the same judgement. The completion is conditional on the lease, and the
    /// insert is fed by it, so the losers store nothing.
    @Test(arguments: TestEngine.all)
    func concurrentSubmitsStoreOneJudgement(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 5)
        let token = try await app.user("ann")
        for _ in 0..<3 {
            let id = try #require(app.next(token, project: project.id).1?["id"]?.intValue)
            let answers = try await withThrowingTaskGroup(of: (Int, JSONValue).self) { group in
                for _ in 0..<6 { group.addTask { try app.submit(token, assignment: id, #"{"choice":"left","rationale":"same"}"#) } }
                var answers: [(Int, JSONValue)] = []
                for try await answer in group { answers.append(answer) }
                return answers
            }
            #expect(answers.filter { $0.0 == 201 }.count == 1 && answers.filter { $0.0 == 200 }.count == 5, "\(answers.map(\.0))")
            #expect(Set(answers.map { $0.1["annotation"]?["id"]?.intValue }).count == 1)
            #expect(try await app.count("SELECT count(*) FROM annotations WHERE assignment_id = \(id)") == 1)
        }
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func overlapIsNeverExceededUnderConcurrency(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 10) { $0.overlap = 3 }
        var tokens: [String] = []
        for index in 0..<64 { tokens.append(try await app.user("ann\(index)")) }
        let results = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for token in tokens {
                group.addTask {
                    let (status, assignment) = try app.next(token, project: project.id)
                    return (status, assignment?["pair_id"]?.stringValue)
                }
            }
            var results: [(Int, String?)] = []
            for try await result in group { results.append(result) }
            return results
        }
        let leased = results.compactMap(\.1)
        #expect(leased.count == 30, "10 pairs × overlap 3")
        #expect(results.filter { $0.0 == 204 }.count == 34)
        let perPair = Dictionary(grouping: leased, by: { $0 }).mapValues(\.count)
        #expect(perPair.values.allSatisfy { $0 == 3 })
        #expect(try await app.count("SELECT max(active_count) FROM pairs") == 3)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func inProgressPairsAreFinishedFirst(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 5) { $0.overlap = 2 }
        let one = try await app.user("one")
        let two = try await app.user("two")
        let first = try app.next(one, project: project.id).1?["pair_id"]
        let second = try app.next(two, project: project.id).1?["pair_id"]
        #expect(first != nil && first == second)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func expiredLeasesAreReclaimedAndRefused(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 1) {
            $0.overlap = 1; $0.leaseTTLSeconds = 60
        }
        let one = try await app.user("one")
        let two = try await app.user("two")
        let lease = try #require(app.next(one, project: project.id).1)
        #expect(try app.next(two, project: project.id).0 == 204, "the only slot is leased")
        app.clock.advance(seconds: 61)
        let taken = try #require(app.next(two, project: project.id).1)
        #expect(taken["pair_id"] == lease["pair_id"])
        let (status, body) = try app.submit(one, assignment: try #require(lease["id"]?.intValue), #"{"choice":"left"}"#)
        #expect(status == 409)
        #expect(body["error"]?["code"]?.stringValue == "lease_expired")
        await app.stop()
    }

    /// Skipping gives the pair's slot back, also when the lease ran out before
    /// anyone reclaimed it (it used to keep the slot forever: a skipped lease is
    /// no longer leased, so no reclaim would find it).
    @Test(arguments: TestEngine.all)
    func skippingAnExpiredLeaseGivesItsSlotBack(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 1) {
            $0.overlap = 1; $0.leaseTTLSeconds = 60
        }
        let one = try await app.user("one")
        let two = try await app.user("two")
        let lease = try #require(app.next(one, project: project.id).1?["id"]?.intValue)
        app.clock.advance(seconds: 61)
        #expect(try app.call("POST", "/api/assignments/\(lease)/skip", one).status == 204)
        #expect(try await app.count("SELECT active_count FROM pairs") == 0)
        #expect(try app.next(two, project: project.id).0 == 200, "the slot is free for someone else")
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func otherPeoplesAssignmentsAndRolesAreRefused(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 2)
        let one = try await app.user("one")
        let two = try await app.user("two")
        let reviewer = try await app.user("rev", role: .reviewer)
        let id = try #require(app.next(one, project: project.id).1?["id"]?.intValue)
        #expect(try app.submit(two, assignment: id, #"{"choice":"left"}"#).0 == 403)
        #expect(try app.submit(one, assignment: 999, #"{"choice":"left"}"#).0 == 404)
        #expect(try app.next(reviewer, project: project.id).0 == 403)
        #expect(try app.next("arb_not-a-real-token", project: project.id).0 == 401)
        let anonymous = try app.client().request("GET", "/api/projects/\(project.id)/next")
        #expect(anonymous.status == 401)
        #expect(anonymous.header("www-authenticate") == "Bearer")
        #expect(try app.next(one, project: 12345).0 == 404)
        #expect(try app.submit(one, assignment: id, #"{"choice":"left"}"#).0 == 201, "still the owner's to submit")
        await app.stop()
    }

    @Test(arguments: [
        ("not json", "invalid_json"),
        (#"["left"]"#, "body: expected a JSON object"),
        (#"{"choice":"up"}"#, "choice: expected"),
        (#"{"choice":"left","strength":5}"#, "strength: expected 1, 2 or 3"),
        (#"{"choice":"both_bad","strength":2}"#, "strength: only with left or right"),
        (#"{"choice":"tie"}"#, "choice: ties are not allowed"),
        (#"{"choice":"left","aspects":{"speed":"left"}}"#, "aspects.speed: not an aspect"),
        (#"{"choice":"left","aspects":{"helpfulness":"A"}}"#, "aspects.helpfulness: expected"),
        (#"{"choice":"left","duration_ms":-5}"#, "duration_ms"),
        (#"{"choice":"left","rationale":"   "}"#, "rationale: required"),
        (#"{"choice":"left","rationale":"fine","extra":1}"#, "extra: unknown field"),
        (#"{"choice":"left","rationale":42}"#, "rationale: expected a string"),
    ])
    func fieldLevelErrors(body: String, expected: String) async throws {
        let app = try TestApp()
        let project = try await app.project(pairs: 1) {
            $0.allowTies = false
            $0.rationaleRequired = true
            $0.aspects = ["helpfulness"]
        }
        let token = try await app.user("ann")
        let id = try #require(app.next(token, project: project.id).1?["id"]?.intValue)
        let (status, response) = try app.submit(token, assignment: id, body)
        #expect(status == 400)
        let text = (response["error"]?["message"]?.stringValue ?? "") + " " + (response["error"]?["code"]?.stringValue ?? "")
        #expect(text.contains(expected), "got \(text)")
        #expect(try await app.count("SELECT count(*) FROM annotations") == 0)
        let (ok, _) = try app.submit(token, assignment: id, #"{"choice":"left","rationale":"clearer","aspects":{"helpfulness":"right"}}"#)
        #expect(ok == 201, "the lease survives a bad submission")
        await app.stop()
    }

    /// Repeats wait for time as well as for other judgements: none within the
    /// first 10 minutes however much is judged; after that, they come.
    @Test(arguments: TestEngine.all)
    func repeatsWaitForTheirMinutes(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 40) {
            $0.repeatRate = 0.5; $0.overlap = 1; $0.repeatAfterJudgements = 3; $0.repeatAfterMinutes = 10
        }
        let token = try await app.user("ann")
        func judge(_ count: Int) throws -> [String: Int] {
            var kinds: [String: Int] = [:]
            for _ in 0..<count {
                let assignment = try #require(app.next(token, project: project.id).1)
                kinds[assignment["kind"]?.stringValue ?? "?", default: 0] += 1
                #expect(try app.submit(token, assignment: try #require(assignment["id"]?.intValue), #"{"choice":"left"}"#).0 == 201)
                app.clock.advance(seconds: 20)
            }
            return kinds
        }
        // 15 judgements 20 s apart: 5 minutes, no repeat yet.
        #expect(try judge(15) == ["normal": 15])
        app.clock.advance(seconds: 600)
        #expect((try judge(15)["repeat"] ?? 0) > 0, "after ten minutes, repeats are served")
        let invalid = try await app.user("boss", role: .admin)
        for body in [#"{"repeat_after_judgements":-1}"#, #"{"repeat_after_minutes":20000}"#, #"{"repeat_after_minutes":1.5}"#] {
            #expect(try app.call("PATCH", "/api/projects/\(project.id)", invalid, body).status == 400, "\(body)")
        }
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func goldAndRepeatsAreMixedIn(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        // 60 pairs: gold is mixed in only while normal work is left, and repeats
        // wait 20 judgements, so 30 left a few golds unserved now and then.
        let project = try await app.project(pairs: 60) {
            $0.goldRate = 0.3; $0.repeatRate = 0.3; $0.overlap = 1; $0.repeatAfterMinutes = 0
        }
        try await app.seed { db in
            var reader = JSONLReader(
                bytes: Array(
                    (0..<10).map { #"{"id":"g\#($0)","prompt":"gold \#($0)","response_a":"right","response_b":"wrong","gold":"A"}"# }
                        .joined(separator: "\n").utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
        }
        let token = try await app.user("ann")
        var kinds: [String: Int] = [:]
        var firstSide: [String: Bool] = [:]
        var firstAt: [String: Int] = [:]
        var judged = 0
        while true {
            let (status, assignment) = try app.next(token, project: project.id)
            guard status == 200, let assignment else { break }
            let kind = assignment["kind"]?.stringValue ?? "?"
            kinds[kind, default: 0] += 1
            let pair = assignment["pair_id"]?.stringValue ?? ""
            let leftText = assignment["left"]?.stringValue ?? ""
            let leftIsA = leftText.hasPrefix("A") || leftText == "right"
            if kind == "repeat" {
                #expect(firstSide[pair] == !leftIsA, "a repeat is shown the other way round")
                // Spaced: at least 20 other judgements since the first (the default).
                #expect(judged - (firstAt[pair] ?? judged) - 1 >= 20, "\(pair): judged at \(firstAt[pair] ?? -1), repeated at \(judged)")
            } else {
                firstSide[pair] = leftIsA
                firstAt[pair] = judged
            }
            judged += 1
            _ = try app.submit(token, assignment: try #require(assignment["id"]?.intValue), #"{"choice":"left"}"#)
        }
        #expect(kinds["normal"] == 60)
        #expect(kinds["gold"] == 10)
        #expect((kinds["repeat"] ?? 0) > 0)
        #expect(try await app.count("SELECT count(*) FROM annotations WHERE kind = 'gold'") == 10)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func importOverHTTP(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 0)
        let admin = try await app.user("boss", role: .admin)
        let annotator = try await app.user("ann")
        let client = try app.client()
        let bad = #"{"id":"x","prompt":"q","response_a":"a","response_b":"b"}"# + "\n" + #"{"id":"y","prompt":"q"}"#
        let refused = try client.request(
            "POST", "/api/projects/\(project.id)/pairs", headers: ["Authorization": "Bearer \(admin)"], body: Array(bad.utf8))
        #expect(refused.status == 422)
        #expect(refused.bodyText.contains("line 2: not a pair"))
        #expect(try await app.count("SELECT count(*) FROM pairs") == 0)
        let forbidden = try client.request(
            "POST", "/api/projects/\(project.id)/pairs", headers: ["Authorization": "Bearer \(annotator)"], body: Array(bad.utf8))
        #expect(forbidden.status == 403)
        let good = try client.request(
            "POST", "/api/projects/\(project.id)/pairs?skip_invalid=true", headers: ["Authorization": "Bearer \(admin)"],
            body: Array(bad.utf8))
        #expect(good.status == 200)
        let report = try JSONValue.parse(good.body)
        #expect(report["imported"] == 1)
        #expect(report["error_count"] == 1)
        let annotations = #"{"pair":"x","annotator":"outside-rater","choice":"B","strength":2}"#
        let imported = try client.request(
            "POST", "/api/projects/\(project.id)/annotations", headers: ["Authorization": "Bearer \(admin)"], body: Array(annotations.utf8))
        #expect(imported.status == 200)
        #expect(try await app.count("SELECT count(*) FROM annotations") == 1)
        await app.stop()
    }
}

/// Required questions and changing a judgement (undo) over real HTTP.
@Suite struct RequiredAndRevisionTests {
    @Test(arguments: TestEngine.all)
    func requiredStrengthAndAspectsAreEnforced(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 2) {
            $0.strengthRequired = true
            $0.aspectsRequired = true
            $0.aspects = ["helpfulness", "harmlessness"]
        }
        let token = try await app.user("ann")
        let id = try #require(app.next(token, project: project.id).1?["id"]?.intValue)
        for (body, expected) in [
            (#"{"choice":"left","aspects":{"helpfulness":"left","harmlessness":"tie"}}"#, "strength: required"),
            (#"{"choice":"left","strength":2,"aspects":{"helpfulness":"left"}}"#, "aspects.harmlessness: required"),
        ] {
            let (status, response) = try app.submit(token, assignment: id, body)
            #expect(status == 400)
            #expect(response["error"]?["message"]?.stringValue?.contains(expected) == true, "\(response)")
        }
        // A tie needs no strength; every aspect is still required.
        #expect(try app.submit(token, assignment: id, #"{"choice":"tie","aspects":{"helpfulness":"tie","harmlessness":"tie"}}"#).0 == 201)
        #expect(try await app.count("SELECT count(*) FROM annotations") == 1)
        // The settings: strength cannot be required without being asked for.
        let admin = try await app.user("boss", role: .admin)
        let refused = try app.call("PATCH", "/api/projects/\(project.id)", admin, #"{"strength_enabled":false}"#)
        #expect(refused.status == 400)
        #expect(refused.json["error"]?["message"]?.stringValue == "strength_required needs strength_enabled")
        let shown = try app.call("GET", "/api/projects/\(project.id)", admin)
        #expect(shown.json["project"]?["strength_required"] == true && shown.json["project"]?["aspects_required"] == true)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func aJudgementCanBeChangedWhileItsLeaseLastsAndHistoryIsKept(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 2) {
            $0.leaseTTLSeconds = 600; $0.overlap = 1
        }
        let token = try await app.user("ann")
        let assignment = try #require(app.next(token, project: project.id).1)
        let id = try #require(assignment["id"]?.intValue)
        #expect(
            try app.call("PUT", "/api/assignments/\(id)/annotation", token, #"{"choice":"right"}"#).status == 409, "nothing to change yet")
        let first = try app.submit(token, assignment: id, #"{"choice":"left","strength":3}"#)
        #expect(first.0 == 201)
        let firstChoice = try #require(first.1["annotation"]?["choice"]?.stringValue)

        let changed = try app.call("PUT", "/api/assignments/\(id)/annotation", token, #"{"choice":"right","strength":1}"#)
        #expect(changed.status == 200, "\(changed)")
        let finalChoice = try #require(changed.json["annotation"]?["choice"]?.stringValue)
        #expect(
            finalChoice != firstChoice && Set([firstChoice, finalChoice]) == ["A", "B"], "left and right map to opposite canonical sides")
        #expect(try await app.count("SELECT count(*) FROM annotations") == 1, "one judgement, the final one")
        #expect(try await app.count("SELECT count(*) FROM annotation_revisions WHERE strength = 3") == 1, "the first kept in history")
        // The same change again is not a second revision; a POST replays the final judgement.
        #expect(try app.call("PUT", "/api/assignments/\(id)/annotation", token, #"{"choice":"right","strength":1}"#).status == 200)
        #expect(try await app.count("SELECT count(*) FROM annotation_revisions") == 1)
        #expect(try app.submit(token, assignment: id, #"{"choice":"left"}"#).1["annotation"]?["choice"]?.stringValue == finalChoice)
        // Agreement and exports read the final judgement.
        let stored = try await app.seed { db in try db.queryFirst("SELECT choice, strength FROM annotations") { ($0.string(0), $0.int(1)) }
        }
        #expect(stored?.0 == finalChoice && stored?.1 == 1)

        // Someone else cannot; bad bodies are 400s; after the lease, it is too late.
        let other = try await app.user("bob")
        #expect(try app.call("PUT", "/api/assignments/\(id)/annotation", other, #"{"choice":"left"}"#).status == 403)
        #expect(try app.call("PUT", "/api/assignments/\(id)/annotation", token, #"{"choice":"sideways"}"#).status == 400)
        app.clock.advance(seconds: 601)
        let late = try app.call("PUT", "/api/assignments/\(id)/annotation", token, #"{"choice":"left"}"#)
        #expect(late.status == 409 && late.json["error"]?["code"] == "too_late", "\(late)")
        await app.stop()
    }
}

/// Annotators cannot tell gold pairs, repeats and normal pairs apart: not from
/// `next`, not from what submit returns, not from their progress count.
@Suite struct KindsLookAlikeTests {
    /// Keys and value types, recursively (strings' contents aside).
    static func shape(_ value: JSONValue) -> String {
        if let object = value.objectValue {
            return "{" + object.keys.sorted().map { "\($0):\(shape(object[$0] ?? .null))" }.joined(separator: ",") + "}"
        }
        if let array = value.arrayValue { return "[" + Set(array.map(shape)).sorted().joined(separator: "|") + "]" }
        return value.typeName
    }

    @Test(arguments: TestEngine.all)
    func nextSubmitAndProgressLookTheSameForEveryKind(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 30) {
            $0.goldRate = 0.3; $0.repeatRate = 0.3; $0.overlap = 1; $0.strengthEnabled = true; $0.repeatAfterJudgements = 0;
            $0.repeatAfterMinutes = 0
        }
        try await app.seed { db in
            var reader = JSONLReader(
                bytes: Array(
                    (0..<10).map { #"{"id":"g\#($0)","prompt":"gold \#($0)","response_a":"right","response_b":"wrong","gold":"A"}"# }
                        .joined(separator: "\n").utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
        }
        let token = try await app.user("ann")
        var nextShapes: [String: Set<String>] = [:]
        var submitShapes: [String: Set<String>] = [:]
        var leftChanges: [String: Set<Int>] = [:]
        func left() throws -> Int {
            Int(try app.call("GET", "/api/projects/\(project.id)/progress", token).json["progress"]?["left"]?.intValue ?? -1)
        }
        while true {
            let before = try left()
            let raw = try app.client().request("GET", "/api/projects/\(project.id)/next", headers: ["Authorization": "Bearer \(token)"])
            guard raw.status == 200 else { break }
            let assignment = try #require(JSONValue.parse(raw.body)["assignment"])
            let id = try #require(assignment["id"]?.intValue)
            let kind =
                try await app.seed { db in try db.queryFirst("SELECT kind FROM assignments WHERE id = ?", [.int(id)]) { $0.string(0) } }
                ?? "?"
            nextShapes[kind, default: []].insert(Self.shape(assignment))
            leftChanges[kind, default: []].insert(try left() - before)
            let (status, body) = try app.submit(token, assignment: id, #"{"choice":"left","strength":2}"#)
            #expect(status == 201)
            submitShapes[kind, default: []].insert(Self.shape(body))
        }
        #expect(Set(nextShapes.keys) == ["normal", "gold", "repeat"])
        #expect(Set(nextShapes.values).count == 1, "one shape for every kind: \(nextShapes)")
        #expect(nextShapes["normal"]?.count == 1)
        #expect(nextShapes["normal"]?.first?.contains("kind") == false && nextShapes["normal"]?.first?.contains("pair") == false)
        #expect(Set(submitShapes.values).count == 1, "\(submitShapes)")
        #expect(submitShapes["gold"]?.first?.contains("kind") == false)
        #expect(leftChanges.values.allSatisfy { $0 == [0] }, "leasing changes the count for no kind: \(leftChanges)")
        await app.stop()
    }
}
