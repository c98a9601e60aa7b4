@testable import Arbiter
import JSON
import Storage
import Synchronization
import Testing
import TestSupport

/// Study links by API, on both engines: participants join with their platform
/// id, judge what the study says, resume without doubling, leave with a code;
/// places, time limits and screeners hold; a study session reaches nothing
/// else; rejected work is quarantined and listed for payment.
@Suite struct StudyTests {
    /// A participant's browser: the session cookie from joining, and its CSRF token.
    struct Participant {
        let app: TestApp
        let cookie: String
        let csrf: String

        func call(_ method: String, _ path: String, _ body: String? = nil) throws -> (status: Int, json: JSONValue) {
            var headers = ["Cookie": cookie, "X-CSRF-Token": csrf]
            if body != nil { headers["Content-Type"] = "application/json" }
            let response = try RawClient(port: app.port).request(method, path, headers: headers, body: body.map { Array($0.utf8) } ?? [])
            return (response.status, response.body.isEmpty ? .null : try JSONValue.parse(response.body))
        }

        /// Judges until `next` says 204; returns how many it judged (gold answered right when `rightOnGold`).
        func judgeAll(project: Int, rightOnGold: Bool = true, app: TestApp) async throws -> Int {
            var judged = 0
            while true {
                let (status, body) = try call("GET", "/api/projects/\(project)/next")
                guard status == 200, let assignment = body["assignment"], let id = assignment["id"]?.intValue else { return judged }
                // The test looks behind the API for the right answer; the participant cannot.
                let gold = try await app.app.store.pool.read { db in
                    try db.queryFirst(
                        "SELECT p.gold, a.shown_swapped FROM assignments a JOIN pairs p ON p.id = a.pair_id WHERE a.id = ?", [.int(id)]
                    ) { ($0.optionalString(0), $0.bool(1)) }
                }
                var choice = "left"
                if let (answer, swapped) = gold, let answer {
                    let leftIsA = !swapped
                    let right = (answer == "A") == leftIsA ? "left" : "right"
                    choice = rightOnGold ? right : (right == "left" ? "right" : "left")
                }
                #expect(try call("POST", "/api/assignments/\(id)/annotation", #"{"choice":"\#(choice)"}"#).status == 201)
                judged += 1
            }
        }
    }

    static func join(_ app: TestApp, token: String, query: String) throws -> (status: Int, json: JSONValue, participant: Participant?) {
        let response = try RawClient(port: app.port).request(
            "POST", "/api/studies/join", headers: ["Content-Type": "application/json"],
            body: Array(#"{"token":"\#(token)","query":\#(query)}"#.utf8))
        let json = response.body.isEmpty ? JSONValue.null : try JSONValue.parse(response.body)
        guard response.status == 200, let set = response.header("Set-Cookie"), let cookie = set.split(separator: ";").first else {
            return (response.status, json, nil)
        }
        let me = try RawClient(port: app.port).request("GET", "/api/me", headers: ["Cookie": String(cookie)])
        let csrf = try JSONValue.parse(me.body)["csrf_token"]?.stringValue ?? ""
        return (response.status, json, Participant(app: app, cookie: String(cookie), csrf: csrf))
    }

    /// A project with 30 pairs, 4 of them gold (A right on each).
    static func setUp(_ engine: TestEngine) async throws -> (TestApp, Project, String) {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 30) { $0.overlap = 5 }
        try await app.seed { db in
            try db.run(
                "UPDATE pairs SET gold = 'A' WHERE project_id = ? AND external_id IN ('p0', 'p1', 'p2', 'p3')", [.int(Int64(project.id))])
        }
        let admin = try await app.user("root", role: .admin)
        return (app, project, admin)
    }

    static func study(
        _ app: TestApp, _ project: Project, admin: String, _ fields: String
    ) throws -> (id: Int64, token: String, json: JSONValue) {
        let (status, body) = try app.call("POST", "/api/projects/\(project.id)/studies", admin, fields)
        #expect(status == 201, "\(body)")
        let link = body["study"]?["link"]?.stringValue ?? ""
        return (body["study"]?["id"]?.intValue ?? 0, String(link.dropFirst(3)), body["study"] ?? .null)
    }

    @Test(arguments: TestEngine.all)
    func aParticipantJudgesResumesAndLeavesWithTheCode(engine: TestEngine) async throws {
        let (app, project, admin) = try await Self.setUp(engine)
        let study = try Self.study(
            app, project, admin: admin,
            #"{"name":"pilot","max_participants":2,"judgements_per_participant":3,"completion_code":"C0DE42","return_url":"https://app.prolific.com/submissions/complete?cc={code}"}"#
        )
        let prolific = #"{"PROLIFIC_PID":"5f1a2b3c4d5e6f7a8b9c0d1e","STUDY_ID":"s1","SESSION_ID":"x1"}"#
        let (status, joined, participant) = try Self.join(app, token: study.token, query: prolific)
        #expect(status == 200, "\(joined)")
        let alice = try #require(participant)
        #expect(joined["annotate_url"]?.stringValue == "/projects/\(project.id)/annotate")

        // Two judgements, then the participant leaves and comes back: the same identity.
        for _ in 0..<2 {
            let (_, body) = try alice.call("GET", "/api/projects/\(project.id)/next")
            let id = try #require(body["assignment"]?["id"]?.intValue)
            #expect(try alice.call("POST", "/api/assignments/\(id)/annotation", #"{"choice":"left"}"#).status == 201)
        }
        #expect(try alice.call("GET", "/api/study").json["completion_code"] == JSONValue.null, "no code before the end")
        let again = try #require(try Self.join(app, token: study.token, query: prolific).participant)
        #expect(try await again.judgeAll(project: project.id, app: app) == 1, "resumed at 2 of 3: one more, never doubled")
        let status2 = try again.call("GET", "/api/study").json
        #expect(status2["participant"]?["state"] == "completed")
        #expect(status2["completion_code"] == "C0DE42")
        #expect(status2["return_url"] == "https://app.prolific.com/submissions/complete?cc=C0DE42")
        #expect(try again.call("GET", "/api/projects/\(project.id)/next").status == 204)
        #expect(try await app.count("SELECT count(*) FROM users WHERE username LIKE 'prolific-%'") == 1)
        #expect(try await app.count("SELECT count(*) FROM annotations") == 3)

        // The session reaches only the study's project and the loop.
        let other = try await app.project(pairs: 1, name: "other")
        for (method, path) in [
            ("GET", "/api/projects/\(other.id)/next"), ("GET", "/api/projects"), ("GET", "/api/projects/\(project.id)/raters"),
            ("GET", "/api/users"), ("GET", "/api/projects/\(project.id)/export"),
        ] {
            let (code, body) = try again.call(method, path)
            #expect(code == 403, "\(method) \(path)")
            #expect(body["error"]?["code"] == "study_scope" || code == 403)
        }

        // Places: a second participant (MTurk) fits, a third does not; a returning one always does.
        let worker = try Self.join(app, token: study.token, query: #"{"workerId":"A1B2C3","assignmentId":"ASG 1&x","hitId":"H1"}"#)
        #expect(worker.status == 200)
        let full = try Self.join(app, token: study.token, query: #"{"participant":"walk-in"}"#)
        #expect(full.status == 409 && full.json["error"]?["code"] == "study_full")
        #expect(try Self.join(app, token: study.token, query: prolific).status == 200)
        for bad in [#"{}"#, #"{"PROLIFIC_PID":"has space"}"#, #"{"workerId":"W","assignmentId":"ASSIGNMENT_ID_NOT_AVAILABLE"}"#] {
            #expect(try Self.join(app, token: study.token, query: bad).status == 400, "\(bad)")
        }
        #expect(try Self.join(app, token: "nope", query: prolific).status == 404)

        // The same new participant arriving eight times at once: one person, every arrival let in.
        let open = try Self.study(app, project, admin: admin, #"{"name":"open","max_participants":5,"judgements_per_participant":1}"#)
        let statuses = Mutex<[Int]>([])
        let token = open.token
        Threads.run(8) { _ in
            let status = (try? Self.join(app, token: token, query: #"{"participant":"twin"}"#).status) ?? -1
            statuses.withLock { $0.append(status) }
        }
        #expect(statuses.withLock { $0 } == Array(repeating: 200, count: 8), "\(statuses.withLock { $0 })")
        #expect(try await app.count("SELECT count(*) FROM users WHERE username LIKE 'generic-twin@%'") == 1)

        // MTurk: back to externalSubmit with the worker's assignment, every value percent-encoded.
        let hit = try Self.study(
            app, project, admin: admin,
            #"{"name":"hit","max_participants":5,"judgements_per_participant":1,"completion_code":"OK-1","return_url":"https://www.mturk.com/mturk/externalSubmit?assignmentId={assignmentId}&code={code}"}"#
        )
        let turker = try #require(
            try Self.join(app, token: hit.token, query: #"{"workerId":"W9","assignmentId":"ASG 1&x=2","hitId":"H1"}"#).participant)
        #expect(try await turker.judgeAll(project: project.id, app: app) == 1)
        #expect(
            try turker.call("GET", "/api/study").json["return_url"]
                == "https://www.mturk.com/mturk/externalSubmit?assignmentId=ASG%201%26x%3D2&code=OK-1")
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func screenerTimeLimitAndTheListForPayment(engine: TestEngine) async throws {
        let (app, project, admin) = try await Self.setUp(engine)
        let study = try Self.study(
            app, project, admin: admin,
            #"{"name":"screened","max_participants":10,"judgements_per_participant":2,"time_limit_minutes":30,"screener_pairs":3,"screener_min_correct":3}"#
        )
        // Passes the screener (3 gold right), then judges 2 pairs.
        let good = try #require(try Self.join(app, token: study.token, query: #"{"participant":"good"}"#).participant)
        #expect(try await good.judgeAll(project: project.id, app: app) == 5)
        #expect(try good.call("GET", "/api/study").json["participant"]?["state"] == "completed")
        // Fails it: out after the screener, with no code, and gives the place back.
        let bad = try #require(try Self.join(app, token: study.token, query: #"{"participant":"bad"}"#).participant)
        #expect(try await bad.judgeAll(project: project.id, rightOnGold: false, app: app) == 3)
        let out = try bad.call("GET", "/api/study").json
        #expect(out["participant"]?["state"] == "screened_out" && out["completion_code"] == JSONValue.null)
        // Too slow: past the time limit, nothing more.
        let slow = try #require(try Self.join(app, token: study.token, query: #"{"participant":"slow"}"#).participant)
        app.clock.advance(seconds: 31 * 60)
        #expect(try slow.call("GET", "/api/projects/\(project.id)/next").status == 204)
        #expect(try slow.call("GET", "/api/study").json["participant"]?["state"] == "timed_out")

        // The admin rejects the good one's work: quarantined in the project; the list says so.
        let participants = try app.call("GET", "/api/studies/\(study.id)/participants", admin).json["participants"]?.arrayValue ?? []
        #expect(participants.count == 3)
        let goodID = try #require(participants.first { $0["platform_id"] == "good" }?["id"]?.intValue)
        #expect(participants.first { $0["platform_id"] == "good" }?["review"] == "approved", "completed and not rejected")
        #expect(participants.first { $0["platform_id"] == "good" }?["screener"]?["correct"] == 3)
        let reviewed = try app.call(
            "POST", "/api/studies/\(study.id)/participants/\(goodID)/review", admin, #"{"decision":"rejected","comment":"copied answers"}"#)
        #expect(reviewed.status == 200)
        let raters = try app.raters(project, token: admin)
        #expect(raters.first { $0["annotator"]?.stringValue == "generic-good@s\(study.id)" }?["status"] == "quarantined")
        let csv = try RawClient(port: app.port).request(
            "GET", "/api/studies/\(study.id)/participants?format=csv", headers: ["Authorization": "Bearer \(admin)"])
        let lines = String(decoding: csv.body, as: UTF8.self).split(separator: "\n")
        #expect(lines.first == "platform,platform_id,state,review,judgements,started_at,finished_at,minutes")
        #expect(lines.contains { $0.hasPrefix("generic,good,completed,rejected,5,") })
        #expect(lines.contains { $0.hasPrefix("generic,bad,screened_out,pending,3,") })
        #expect(lines.contains { $0.hasPrefix("generic,slow,timed_out,pending,0,") })

        // Bad study settings are 400s naming the field.
        for (body, field) in [
            (#"{"name":"x","max_participants":0,"judgements_per_participant":1}"#, "max_participants"),
            (#"{"name":"x","max_participants":1,"judgements_per_participant":1,"screener_pairs":9}"#, "screener_pairs"),
            (#"{"name":"x","max_participants":1,"judgements_per_participant":1,"return_url":"javascript:alert(1)"}"#, "return_url"),
            (#"{"name":"x","max_participants":1e300,"judgements_per_participant":1}"#, "max_participants"),
        ] {
            let (code, json) = try app.call("POST", "/api/projects/\(project.id)/studies", admin, body)
            #expect(code == 400 && json["error"]?["message"]?.stringValue?.contains(field) == true, "\(body) → \(json)")
        }
        await app.stop()
    }
}
