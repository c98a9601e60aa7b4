@testable import ModelEndpoints
import Glibc
@testable import Arbiter
import JSON
import Storage
import Synchronization
import Testing
import TestSupport

/// Arena battles against a local fake OpenAI-compatible server, on both engines:
/// both answers stream (names never in the stream), follow-ups carry each side's
/// own history, the vote becomes a pair with both models named and a judgement,
/// the names come back only then; balance, the hourly limit, blocked words,
/// moderation, a failing model, a busy endpoint and a client that goes away.
@Suite struct ArenaTests {
    /// Three endpoints on one fake server; each streams its own word ("alpha0 alpha1 …").
    static func pool(
        _ fake: FakeOpenAIServer, concurrency: Int = 8, moderation: Bool = false, extra: [ModelEndpoint] = [],
        tokens: [Int] = [6, 4, 5]
    ) -> ModelPool {
        var endpoints = zip(["alpha", "beta", "gamma"], tokens).map { name, count in (name, "\(name)-\(count)") }.map { name, model in
            var endpoint = ModelEndpoint(name: name, baseURL: fake.baseURL, model: model)
            endpoint.concurrency = concurrency
            endpoint.idleTimeout = 10
            return endpoint
        }
        endpoints += extra
        return ModelPool(
            endpoints: endpoints, moderation: moderation ? ModelEndpoint(name: "moderation", baseURL: fake.baseURL, model: "m") : nil)
    }

    /// A streamed turn: status, the events, and the JSON of an error answer.
    static func stream(
        _ app: TestApp, _ path: String, _ token: String, prompt: String
    ) throws -> (status: Int, events: [JSONValue], error: JSONValue?) {
        let body = Array(JSONValue.object(["prompt": .string(prompt)]).jsonText.utf8)
        let response = try RawClient(port: app.port, timeout: 30).request(
            "POST", path, headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"], body: body)
        guard response.status == 200 else { return (response.status, [], try? JSONValue.parse(response.body)) }
        #expect(response.header("content-type") == "text/event-stream")
        let events = String(decoding: response.body, as: UTF8.self).split(separator: "\n").compactMap { line in
            line.hasPrefix("data: ") ? try? JSONValue.parse(Array(line.dropFirst(6).utf8)) : nil
        }
        return (200, events, nil)
    }

    static func text(_ events: [JSONValue], side: String) -> String {
        events.filter { $0["type"]?.stringValue == "token" && $0["side"]?.stringValue == side }.compactMap { $0["text"]?.stringValue }
            .joined()
    }

    static let arena =
        #"{"name":"arena","overlap":1,"arena":{"endpoints":["alpha","beta","gamma"],"max_turns":2,"prompts_per_hour":4,"blocked_words":["password"]}}"#

    @Test(arguments: TestEngine.all)
    func battleStreamsBothAnswersAndRevealsTheModelsAfterTheVote(engine: TestEngine) async throws {
        let fake = try FakeOpenAIServer(delayMs: 2)
        let app = try TestApp(engine: engine) { $0.models = Self.pool(fake) }
        defer { Task { await app.stop() } }
        let admin = try await app.user("ada", role: .admin)
        let ann = try await app.user("ann")
        let other = try await app.user("otto")

        // Only endpoints this server has may battle.
        let unknown = try app.call("POST", "/api/projects", admin, #"{"name":"x","arena":{"endpoints":["alpha","nope"]}}"#)
        #expect(
            unknown.status == 400
                && unknown.json["error"]?["message"]?.stringValue?.contains("'nope' is not one of this server's endpoints") == true,
            "\(unknown.json)")
        let ranking = try app.call("POST", "/api/projects", admin, #"{"name":"x","kind":"ranking","arena":{"endpoints":["alpha","beta"]}}"#)
        #expect(ranking.status == 400, "\(ranking.json)")
        let created = try app.call("POST", "/api/projects", admin, Self.arena)
        #expect(created.status == 201, "\(created.json)")
        let project = try #require(created.json["project"]?["id"]?.intValue)
        // The admin sees the endpoints, never a key.
        let listed = try app.call("GET", "/api/endpoints", admin)
        #expect(listed.json["endpoints"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["alpha", "beta", "gamma"])
        #expect(try app.call("GET", "/api/endpoints", ann).status == 403)

        let status = try app.call("GET", "/api/projects/\(project)/arena", ann)
        #expect(status.json["ready"] == true && status.json["prompts_left"]?.intValue == 4, "\(status.json)")

        // First turn: both sides stream; nothing in the stream names a model.
        let first = try Self.stream(app, "/api/projects/\(project)/battles", ann, prompt: "Explain RAID 5")
        #expect(first.status == 200, "\(String(describing: first.error))")
        let battle = try #require(first.events.first?["battle"]?.intValue)
        #expect(first.events.first?["type"] == "start" && first.events.last?["type"] == "end", "\(first.events)")
        #expect(first.events.last?["state"] == "open" && first.events.last?["turns_left"]?.intValue == 1)
        #expect(first.events.allSatisfy { event in event.objectValue?.keys.contains { $0.hasPrefix("model") } == false })
        let (a1, b1) = (Self.text(first.events, side: "a"), Self.text(first.events, side: "b"))
        #expect(!a1.isEmpty && !b1.isEmpty && a1 != b1)
        #expect(first.events.filter { $0["type"] == "done" }.count == 2)
        let seen = try app.call("GET", "/api/battles/\(battle)", ann)
        #expect(seen.json["state"] == "open" && seen.json["model_a"] == nil, "\(seen.json)")
        #expect(try app.call("GET", "/api/battles/\(battle)", other).status == 404)
        // Someone else's battle is not theirs to continue or vote on.
        #expect(try Self.stream(app, "/api/battles/\(battle)/turns", other, prompt: "hi").status == 404)
        #expect(try app.call("POST", "/api/battles/\(battle)/vote", other, #"{"choice":"A"}"#).status == 404)

        // A follow-up continues each side's own conversation.
        let before = fake.requests.count
        let second = try Self.stream(app, "/api/battles/\(battle)/turns", ann, prompt: "And RAID 6?")
        #expect(second.status == 200 && second.events.last?["turns_left"]?.intValue == 0, "\(second.events)")
        let histories = fake.requests.dropFirst(before).compactMap { $0["messages"]?.arrayValue }
        #expect(histories.count == 2)
        for history in histories {
            #expect(history.compactMap { $0["role"]?.stringValue } == ["user", "assistant", "user"])
            #expect([a1, b1].contains(history[1]["content"]?.stringValue ?? ""), "its own answer: \(history)")
        }
        let third = try Self.stream(app, "/api/battles/\(battle)/turns", ann, prompt: "And RAID 10?")
        #expect(third.status == 409 && third.error?["error"]?["code"] == "battle_turns", "\(String(describing: third.error))")

        // The vote reveals the names — the models that wrote each side.
        let vote = try app.call("POST", "/api/battles/\(battle)/vote", ann, #"{"choice":"A","duration_ms":5000}"#)
        #expect(vote.status == 200, "\(vote.json)")
        let (modelA, modelB) = (try #require(vote.json["model_a"]?.stringValue), try #require(vote.json["model_b"]?.stringValue))
        #expect(a1.hasPrefix(modelA + "0 ") && b1.hasPrefix(modelB + "0 "), "\(modelA): \(a1) / \(modelB): \(b1)")
        let again = try app.call("POST", "/api/battles/\(battle)/vote", ann, #"{"choice":"B"}"#)
        #expect(again.status == 200 && again.json["choice"] == "A", "a repeated vote returns the first: \(again.json)")
        #expect(try app.call("GET", "/api/battles/\(battle)", ann).json["model_a"]?.stringValue == modelA)

        // Stored as a pair and a judgement like any other.
        let db = try app.inspect()
        let stored = try #require(
            try db.queryFirst(
                "SELECT p.prompt, p.response_a, p.response_b, p.model_a, p.model_b, p.metadata, a.choice, a.duration_ms FROM pairs p JOIN annotations a ON a.pair_id = p.id WHERE p.external_id = ?",
                [.text("battle-\(battle)")]
            ) { row in
                (row.string(0), row.string(1), row.string(2), row.string(3), row.string(4), row.string(5), row.string(6), row.int(7))
            })
        #expect(stored.0 == "Explain RAID 5" && stored.1 == a1 && stored.2 == b1 && stored.3 == modelA && stored.4 == modelB)
        #expect(stored.6 == "A" && stored.7 == 5000)
        let metadata = try JSONValue.parse(stored.5)
        #expect(
            metadata["turns"]?.intValue == 2 && metadata["conversation_a"]?.arrayValue?.count == 4
                && metadata["timings"]?.arrayValue?.count == 2)
        #expect(metadata["timings"]?.arrayValue?.first?["a"]?["first_token_ms"]?.doubleValue != nil, "\(metadata)")
        let board = try app.call("GET", "/api/projects/\(project)/leaderboard?bootstrap=0", admin)
        #expect(board.json["battles"]?.intValue == 1, "\(board.json)")

        // Blocked words never leave the server (and do not count).
        let blocked = try Self.stream(app, "/api/projects/\(project)/battles", ann, prompt: "What is my Password?")
        #expect(blocked.status == 400 && blocked.error?["error"]?["message"]?.stringValue?.contains("blocked word") == true)
        // Two more battles use the hour's last two prompts, each on a pair not yet battled.
        var pairs: Set<String> = [[modelA, modelB].sorted().joined(separator: "/")]
        for prompt in ["two", "three"] {
            let turn = try Self.stream(app, "/api/projects/\(project)/battles", ann, prompt: prompt)
            #expect(turn.status == 200)
            let id = try #require(turn.events.first?["battle"]?.intValue)
            let revealed = try app.call("POST", "/api/battles/\(id)/vote", ann, #"{"choice":"tie"}"#).json
            pairs.insert([revealed["model_a"]?.stringValue ?? "", revealed["model_b"]?.stringValue ?? ""].sorted().joined(separator: "/"))
        }
        #expect(pairs.count == 3, "balanced: every pair of models battled once: \(pairs)")
        let limited = try RawClient(port: app.port).request(
            "POST", "/api/projects/\(project)/battles", headers: ["Authorization": "Bearer \(ann)", "Content-Type": "application/json"],
            body: Array(#"{"prompt":"four"}"#.utf8))
        #expect(limited.status == 429 && limited.header("retry-after") != nil, "\(limited)")
        #expect(try app.call("GET", "/api/projects/\(project)/arena", ann).json["prompts_left"]?.intValue == 0)
        // The arena stays on the annotator's list (never "finished"), without its endpoints or blocked words.
        let projects = try app.call("GET", "/api/projects", ann).json["projects"]?.arrayValue ?? []
        let mine = try #require(projects.first { $0["id"]?.intValue == project })
        #expect(
            mine["arena"]?["max_turns"]?.intValue == 2 && mine["arena"]?["endpoints"] == nil && mine["arena"]?["blocked_words"] == nil,
            "\(mine)")
        #expect(try app.call("GET", "/api/projects/\(project)", ann).json["project"]?["arena"]?["endpoints"] == nil)
        #expect(try app.call("GET", "/api/projects/\(project)", admin).json["project"]?["arena"]?["endpoints"]?.arrayValue?.count == 3)
        // An hour later the limit has passed.
        app.clock.advance(seconds: 3601)
        #expect(try Self.stream(app, "/api/projects/\(project)/battles", ann, prompt: "five").status == 200)
        // A project that is not an arena says so.
        let plain = try await app.project(pairs: 1, name: "plain")
        #expect(try Self.stream(app, "/api/projects/\(plain.id)/battles", ann, prompt: "x").status == 409)
    }

    /// The admin page's generate button: batches of prompt lines answered by the
    /// chosen endpoints, written as named pairs; sent again, nothing is asked twice.
    @Test(arguments: TestEngine.all)
    func generateFromTheAdminPage(engine: TestEngine) async throws {
        let fake = try FakeOpenAIServer(delayMs: 1)
        let app = try TestApp(engine: engine) { $0.models = Self.pool(fake) }
        defer { Task { await app.stop() } }
        let admin = try await app.user("ada", role: .admin)
        let ann = try await app.user("ann")
        let project = try #require(try app.call("POST", "/api/projects", admin, #"{"name":"g"}"#).json["project"]?["id"]?.intValue)
        let lines =
            #"{"id":"q1","prompt":"What is a heap?"}"# + "\n" + #"{"prompt":""}"# + "\n"
            + #"{"id":"q2","prompt":[{"role":"user","content":"Sort this"}]}"#
        func generate(_ query: String, _ token: String) throws -> (status: Int, json: JSONValue) {
            let response = try RawClient(port: app.port, timeout: 30).request(
                "POST", "/api/projects/\(project)/generate?\(query)",
                headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/x-ndjson"],
                body: Array(lines.utf8))
            return (response.status, response.body.isEmpty ? .null : try JSONValue.parse(response.body))
        }
        let first = try generate("endpoints=alpha,beta,gamma&first_line=11", admin)
        #expect(first.status == 200, "\(first.json)")
        #expect(
            first.json["generated"]?.intValue == 2 && first.json["rows"]?.intValue == 6 && first.json["prompts"]?.intValue == 3,
            "\(first.json)")
        #expect(first.json["failures"]?.arrayValue?.first?["line"]?.intValue == 12, "the file's line: \(first.json)")
        let asked = fake.requests.count
        let again = try generate("endpoints=alpha,beta,gamma&first_line=11", admin)
        #expect(again.json["skipped"]?.intValue == 2 && again.json["generated"]?.intValue == 0 && fake.requests.count == asked)
        #expect(try await app.count("SELECT count(*) FROM pairs WHERE model_a IS NOT NULL AND model_b IS NOT NULL") == 6)
        #expect(try generate("endpoints=alpha,nope", admin).status == 400)
        // Line numbers are bounded at the edge (this one overflowed and crashed the process).
        for extreme in ["9223372036854775807", "1000000001", "0", "-1", "1e3"] {
            #expect(try generate("endpoints=alpha,beta&first_line=\(extreme)", admin).status == 400, "\(extreme)")
        }
        #expect(try app.client().request("GET", "/healthz").status == 200)
        #expect(try generate("endpoints=alpha", admin).status == 400)
        #expect(try generate("endpoints=alpha,beta", ann).status == 403)
    }

    /// Battle state is in the database: a battle started through one node is
    /// continued and voted on through another (PostgreSQL, two servers).
    @Test(.enabled(if: PostgresServer.available, "needs PostgreSQL"))
    func aBattleMovesBetweenNodes() async throws {
        let fake = try FakeOpenAIServer(delayMs: 1)
        let first = try TestApp(engine: .postgres) { $0.models = Self.pool(fake) }
        defer { Task { await first.stop() } }
        let second = try TestApp(engine: .postgres) { configuration in
            configuration.database = first.database
            configuration.models = Self.pool(fake)
        }
        defer { Task { await second.stop() } }
        let admin = try await first.user("ada", role: .admin)
        let ann = try await first.user("ann")
        let project = try #require(try first.call("POST", "/api/projects", admin, Self.arena).json["project"]?["id"]?.intValue)
        let turn = try Self.stream(first, "/api/projects/\(project)/battles", ann, prompt: "on node one")
        let battle = try #require(turn.events.first?["battle"]?.intValue)
        let followUp = try Self.stream(second, "/api/battles/\(battle)/turns", ann, prompt: "on node two")
        #expect(followUp.status == 200 && followUp.events.last?["state"] == "open", "\(followUp.events)")
        let vote = try second.call("POST", "/api/battles/\(battle)/vote", ann, #"{"choice":"B"}"#)
        #expect(vote.status == 200 && vote.json["model_b"]?.stringValue != nil, "\(vote.json)")
        #expect(try first.call("GET", "/api/battles/\(battle)", ann).json["state"] == "voted")
    }

    /// The admin page: an arena made in the project form (endpoints ticked, a
    /// blocked word), and the generate panel filling a project from a file.
    @Test(.enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
    func adminSetsUpAnArenaAndGenerates() async throws {
        let fake = try FakeOpenAIServer(delayMs: 1)
        let app = try TestApp { $0.models = Self.pool(fake) }
        defer { Task { await app.stop() } }
        _ = try await app.person("boss", role: .admin)
        let browser = try WebDriver(width: 1400, height: 1000)
        try browser.signIn(app: app, as: "boss", to: "/admin")
        try browser.element("#new-project summary").click()
        try browser.element("#project-form-name").type("Chat arena")
        try browser.element("#project-form-arena").click()
        try browser.wait(until: "document.querySelectorAll('#project-form-arena-endpoints input').length === 3")
        try browser.script(
            "document.querySelectorAll('#project-form-arena-endpoints input')[0].click(); document.querySelectorAll('#project-form-arena-endpoints input')[2].click();"
        )
        try browser.element("#project-form-arena-blocked").type("password, secret plan")
        try browser.element("#project-form-arena-pool").type("What is a B-tree?")
        if let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.script("document.getElementById('project-form-arena').scrollIntoView();")
            try browser.screenshot(to: shots + "/admin-arena.png")
        }
        try browser.element("#project-form button[type=submit]").click()
        try browser.wait(until: "location.pathname.startsWith('/admin/projects/') && document.body.dataset.ready === 'true'", timeout: 20)
        let projectID = Int(try browser.script("return location.pathname.split('/')[3];").stringValue ?? "") ?? -1
        let arena = try await app.app.store.pool.read { db in try Projects.find(db, id: projectID)?.settings.arena }
        #expect(
            arena?.endpoints == ["alpha", "gamma"] && arena?.blockedWords == ["password", "secret plan"]
                && arena?.promptPool == ["What is a B-tree?"],
            "\(String(describing: arena))")
        #expect(try browser.element("#annotate-link").text == "Arena")

        // The generate panel: two endpoints, a file of three prompts.
        let directory = TemporaryDirectory()
        directory.write("prompts.jsonl", (1...3).map { #"{"id":"p\#($0)","prompt":"question \#($0)"}"# }.joined(separator: "\n") + "\n")
        try browser.wait(until: "document.querySelectorAll('#generate-endpoints input').length === 3")
        try browser.script(
            "document.querySelectorAll('#generate-endpoints input')[0].click(); document.querySelectorAll('#generate-endpoints input')[1].click();"
        )
        try browser.element("#generate-file").type(directory.path + "/prompts.jsonl")
        try browser.wait(until: "!document.getElementById('generate-start').disabled")
        try browser.element("#generate-start").click()
        try browser.wait(until: "document.getElementById('generate-result').textContent.includes('Generated 3')", timeout: 30)
        #expect(try await app.count("SELECT count(*) FROM pairs WHERE model_a = 'alpha' AND model_b = 'beta'") == 3)
    }

    /// A model that fails voids the battle, and the message does not name it.
    @Test func aFailingModelVoidsTheBattleWithoutNamingIt() async throws {
        let fake = try FakeOpenAIServer(delayMs: 1)
        let broken = ModelEndpoint(name: "broken", baseURL: fake.baseURL, model: "fail")
        let app = try TestApp { $0.models = Self.pool(fake, extra: [broken]) }
        defer { Task { await app.stop() } }
        let admin = try await app.user("ada", role: .admin)
        let ann = try await app.user("ann")
        let project = try #require(
            try app.call("POST", "/api/projects", admin, #"{"name":"a","arena":{"endpoints":["alpha","broken"]}}"#).json["project"]?["id"]?
                .intValue)
        let turn = try Self.stream(app, "/api/projects/\(project)/battles", ann, prompt: "hello")
        #expect(turn.status == 200)
        let error = try #require(turn.events.first { $0["type"] == "error" })
        #expect(error["message"]?.stringValue?.contains("failed") == true)
        #expect(!turn.events.map(\.jsonText).joined().contains("broken") && !turn.events.map(\.jsonText).joined().contains("overloaded"))
        #expect(turn.events.last?["state"] == "void")
        let battle = try #require(turn.events.first?["battle"]?.intValue)
        let vote = try app.call("POST", "/api/battles/\(battle)/vote", ann, #"{"choice":"A"}"#)
        #expect(vote.status == 409 && vote.json["error"]?["code"] == "battle_void", "\(vote.json)")
        #expect(try await app.count("SELECT count(*) FROM pairs") == 0)
        let bad = try app.call("POST", "/api/battles/\(battle)/vote", ann, #"{"choice":"left"}"#)
        #expect(bad.status == 400)
    }

    /// Moderation runs before a prompt is sent: flagged is refused, unreachable too.
    @Test func moderationScreensPrompts() async throws {
        let fake = try FakeOpenAIServer(delayMs: 1)
        let app = try TestApp { $0.models = Self.pool(fake, moderation: true) }
        defer { Task { await app.stop() } }
        let admin = try await app.user("ada", role: .admin)
        let ann = try await app.user("ann")
        let body = #"{"name":"m","arena":{"endpoints":["alpha","beta"],"moderation":true,"prompt_pool":["What is a B-tree?"]}}"#
        let project = try #require(try app.call("POST", "/api/projects", admin, body).json["project"]?["id"]?.intValue)
        let before = fake.requests.count
        let flagged = try Self.stream(app, "/api/projects/\(project)/battles", ann, prompt: "something forbidden")
        #expect(
            flagged.status == 400
                && flagged.error?["error"]?["message"]?.stringValue?.contains("refused by moderation (harassment)") == true,
            "\(String(describing: flagged.error))")
        #expect(fake.requests.dropFirst(before).allSatisfy { $0["messages"] == nil }, "no model was asked")
        let drawn = try app.call("GET", "/api/projects/\(project)/arena?draw=true", ann)
        #expect(drawn.json["drawn"] == "What is a B-tree?")
        #expect(try Self.stream(app, "/api/projects/\(project)/battles", ann, prompt: "What is a B-tree?").status == 200)

        // A moderation endpoint that does not answer: nothing is sent.
        let app2 = try TestApp {
            var endpoints = Self.pool(fake).endpoints
            endpoints[0].concurrency = 2
            var down = ModelEndpoint(name: "moderation", baseURL: "http://127.0.0.1:1/v1", model: "m")
            down.connectTimeout = 2
            $0.models = ModelPool(endpoints: endpoints, moderation: down)
        }
        defer { Task { await app2.stop() } }
        let admin2 = try await app2.user("ada", role: .admin)
        let ann2 = try await app2.user("ann")
        let project2 = try #require(try app2.call("POST", "/api/projects", admin2, body).json["project"]?["id"]?.intValue)
        let refused = try Self.stream(app2, "/api/projects/\(project2)/battles", ann2, prompt: "hello")
        #expect(refused.status == 503 && refused.error?["error"]?["message"]?.stringValue?.contains("moderation is unavailable") == true)
    }

    /// Each endpoint's concurrency limit holds; a client that goes away stops both
    /// requests and frees their slots.
    @Test func busyEndpointsAndAbandonedStreams() async throws {
        let fake = try FakeOpenAIServer(delayMs: 100)
        let app = try TestApp { configuration in
            var endpoints = [
                ModelEndpoint(name: "slow-a", baseURL: fake.baseURL, model: "sa-200"),
                ModelEndpoint(name: "slow-b", baseURL: fake.baseURL, model: "sb-200"),
            ]
            endpoints[0].concurrency = 1
            endpoints[1].concurrency = 1
            configuration.models = ModelPool(endpoints: endpoints)
        }
        defer { Task { await app.stop() } }
        let admin = try await app.user("ada", role: .admin)
        let ann = try await app.user("ann")
        let bob = try await app.user("bob")
        let project = try #require(
            try app.call("POST", "/api/projects", admin, #"{"name":"b","arena":{"endpoints":["slow-a","slow-b"]}}"#).json["project"]?["id"]?
                .intValue)
        // Start a battle and read only its first bytes.
        let client = try RawClient(port: app.port, timeout: 10)
        let body = #"{"prompt":"a long story"}"#
        try client.send(
            "POST /api/projects/\(project)/battles HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(ann)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        )
        var waited = 0
        while app.app.configuration.models.inFlight.values.reduce(0, +) < 2 && waited < 500 {
            usleep(20_000)
            waited += 1
        }
        #expect(app.app.configuration.models.inFlight == ["slow-a": 1, "slow-b": 1])
        let busy = try Self.stream(app, "/api/projects/\(project)/battles", bob, prompt: "me too")
        #expect(
            busy.status == 503 && busy.error?["error"]?["message"]?.stringValue?.contains("busy") == true,
            "\(String(describing: busy.error))")
        // The first client goes away: both requests stop within a token or two.
        Glibc.shutdown(client.fd, Int32(SHUT_RDWR))
        waited = 0
        while app.app.configuration.models.inFlight.values.reduce(0, +) > 0 && waited < 500 {
            usleep(20_000)
            waited += 1
        }
        #expect(app.app.configuration.models.inFlight.values.reduce(0, +) == 0, "slots freed after \(waited * 20) ms")
        #expect(waited < 500, "stopped within 10 s, long before the 20 s the answers would take")
        // The abandoned battle is void (stored just after the slots are given back).
        waited = 0
        while try await app.count("SELECT count(*) FROM battles WHERE state = 'void'") == 0 && waited < 500 {
            usleep(20_000)
            waited += 1
        }
        #expect(try await app.count("SELECT count(*) FROM battles WHERE state = 'void'") == 1)
    }

    /// The page: both answers visibly stream, the names are hidden until the vote
    /// (the keyboard's 1), then shown; a follow-up continues the battle.
    @Test(.enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
    func arenaPageStreamsAndReveals() async throws {
        // Answers of 12 tokens 100 ms apart: long enough to be seen mid-stream on a busy machine.
        let fake = try FakeOpenAIServer(delayMs: 100)
        let app = try TestApp { $0.models = Self.pool(fake, tokens: [12, 12, 12]) }
        defer { Task { await app.stop() } }
        let admin = try await app.user("ada", role: .admin)
        _ = try await app.person("ann")
        let body =
            #"{"name":"Model arena","overlap":1,"arena":{"endpoints":["alpha","beta","gamma"],"max_turns":2,"prompt_pool":["Write a haiku about B-trees"]}}"#
        let project = try #require(try app.call("POST", "/api/projects", admin, body).json["project"]?["id"]?.intValue)
        let browser = try WebDriver(width: 1400, height: 1000)
        try browser.signIn(app: app, as: "ann", to: "/projects/\(project)/arena")
        #expect(try browser.element("#quota").text.contains("30 of 30"))
        try browser.element("#draw").click()
        try browser.wait(until: "document.getElementById('prompt').value === 'Write a haiku about B-trees'")
        try browser.element("#send").click()
        // Mid-stream: text on both sides while they are still streaming, no names.
        try browser.wait(
            until: "[...document.querySelectorAll('.arena-answer.streaming')].filter((e) => e.textContent.length > 0).length === 2",
            timeout: 20)
        #expect(try browser.element("#side-a-title").text == "Model A" && browser.element("#side-b-title").text == "Model B")
        if let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.screenshot(to: shots + "/arena-streaming.png")
        }
        try browser.wait(until: "!document.getElementById('vote').hidden", timeout: 30)
        #expect(try browser.script("return document.querySelectorAll('.arena-answer.streaming').length;").intValue == 0)
        // The answers are in: the vote keys work at once (focus left the prompt box);
        // f opens the follow-up, Esc comes back, f again to write it.
        #expect(try browser.script("return document.activeElement?.dataset.choice;").stringValue == "A")
        #expect(try browser.element("#vote-hint").text.contains("Press 1–4 to vote"))
        try browser.press("f")
        #expect(try browser.script("return document.activeElement?.id;").stringValue == "prompt")
        try browser.press("\u{E00C}")
        #expect(try browser.script("return document.activeElement?.dataset.choice;").stringValue == "A")
        try browser.press("f")
        try browser.element("#prompt").type("Now one about hash tables")
        try browser.chord(WebDriver.control, WebDriver.enter)
        try browser.wait(
            until: "document.querySelectorAll('#side-a .arena-turn').length === 2 && !document.getElementById('vote').hidden", timeout: 30)
        #expect(
            try browser.script("return document.getElementById('regenerate').offsetParent === null;").boolValue == true,
            "regenerate is for a first turn")
        try browser.press("1")
        try browser.wait(until: "document.getElementById('side-a-title').textContent.includes('·')")
        let title = try browser.element("#side-a-title").text
        let answer = try browser.script("return document.querySelector('#side-a .arena-answer').textContent;").stringValue ?? ""
        let name = String(title.split(separator: "·").last ?? "").filter { !$0.isWhitespace }
        #expect(["alpha", "beta", "gamma"].contains(name) && answer.hasPrefix(name + "0"), "\(title): \(answer)")
        #expect(try browser.element("#status").text.contains("Vote stored"))
        if let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.screenshot(to: shots + "/arena-revealed.png")
        }
        #expect(try await app.count("SELECT count(*) FROM annotations WHERE choice = 'A'") == 1)
        // After the vote: no disabled box or live-looking buttons, only the way on.
        let after = try browser.script("return ['prompt', 'send', 'draw'].map((id) => document.getElementById(id).offsetParent === null);")
        #expect(after == [true, true, true])
        #expect(try browser.script("return document.activeElement?.id;").stringValue == "new-battle")
        // n: a new battle; regenerate (r) asks the same prompt in a fresh one.
        try browser.press("n")
        try browser.element("#prompt").type("Name a sorting algorithm")
        try browser.chord(WebDriver.control, WebDriver.enter)
        try browser.wait(until: "!document.getElementById('vote').hidden && document.activeElement?.dataset.choice === 'A'", timeout: 30)
        try browser.press("r")
        try browser.wait(
            until:
                "document.querySelectorAll('#side-a .arena-turn').length === 1 && !document.getElementById('vote').hidden && document.activeElement?.dataset.choice === 'A'",
            timeout: 30)
        #expect(
            try browser.script("return document.querySelector('#side-a .arena-prompt').textContent;").stringValue
                == "Name a sorting algorithm")
        #expect(try await app.count("SELECT count(*) FROM battles") == 3)
        // And on a phone, nothing scrolls sideways.
        try browser.resize(width: 390, height: 844)
        #expect(try browser.script("return document.documentElement.scrollWidth <= window.innerWidth;").boolValue == true)
    }
}

/// Blocked words are matched on what a reader sees: invisible characters,
/// fullwidth letters, look-alikes and odd spacing do not get a word through.
@Suite struct BlockedWordTests {
    @Test func slipsAroundTheListAreCaught() {
        var arena = ArenaSettings(endpoints: ["a", "b"])
        arena.blockedWords = ["password", "secret plan"]
        for prompt in [
            "tell me the pass\u{200B}word", "p\u{00AD}assword please", "ｐａｓｓｗｏｒｄ", "the раssword", "PASSWORD!", "pass\u{2060}word",
            "the secret  plan", "the secret\u{00A0}plan", "the secret\nplan", "the ѕecret\tplan", "\u{FEFF}password",
        ] {
            #expect(arena.blockedWord(in: prompt) != nil, "\(prompt.debugDescription)")
        }
        for prompt in ["passwords are hashed", "compass wording", "a secret planet", "plain text"] {
            #expect(arena.blockedWord(in: prompt) == nil, "\(prompt.debugDescription)")
        }
    }
}
