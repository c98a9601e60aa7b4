@testable import Arbiter
import Foundation
import Glibc
import HTTPClient
import JSON
import Storage
import Testing
import TestSupport

/// Webhooks against a local receiver: signatures a reference verifier accepts,
/// every event once per endpoint in id order, retries until the receiver is back,
/// nothing for a write that rolled back, failures kept for the admin page.
@Suite struct WebhookTests {
    /// The Standard Webhooks specification's published vector.
    @Test func signaturesMatchThePublishedStandardWebhooksVector() {
        let signature = WebhookSignature.sign(
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
            body: Array(#"{"test": 2432232314}"#.utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(WebhookSignature.key("whsec_not base64!") == nil)
        #expect(WebhookSignature.key(WebhookSignature.newSecret())?.count == 24)
    }

    @Test func privateAddressesAreTheSpecialPurposeRanges() {
        for address: [UInt8] in [
            [10, 1, 2, 3], [127, 0, 0, 1], [192, 168, 0, 9], [172, 31, 255, 1], [169, 254, 169, 254], [100, 64, 0, 1], [0, 0, 0, 0],
        ] {
            #expect(PrivateAddress.contains(ipv4: address), "\(address)")
        }
        for address: [UInt8] in [[8, 8, 8, 8], [172, 32, 0, 1], [100, 128, 0, 1], [192, 169, 0, 1]] {
            #expect(!PrivateAddress.contains(ipv4: address), "\(address)")
        }
        let loopback: [UInt8] = Array(repeating: 0, count: 15) + [1]
        let uniqueLocal: [UInt8] = [0xFD] + Array(repeating: 0, count: 15)
        let linkLocal: [UInt8] = [0xFE, 0x80] + Array(repeating: 0, count: 14)
        let mapped: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF, 192, 168, 1, 1]
        let documentation: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1]
        for address in [loopback, uniqueLocal, linkLocal, mapped] { #expect(PrivateAddress.contains(ipv6: address), "\(address)") }
        #expect(!PrivateAddress.contains(ipv6: documentation))
    }

    /// Everything a project says, to one endpoint: signed (checked by the
    /// `standardwebhooks` package), in id order, each id once after a retry.
    @Test(arguments: TestEngine.all)
    func eventsArriveSignedInOrderAndOnceEach(engine: TestEngine) async throws {
        let receiver = try WebhookReceiver(statuses: [503])
        let app = try TestApp(engine: engine) { $0.webhooks.pollInterval = 0.05 }
        let project = try await app.project(pairs: 2) { $0.overlap = 1 }
        let admin = try await app.user("root", role: .admin)
        let annotator = try await app.user("ann")

        let (created, body) = try app.call(
            "POST", "/api/webhooks", admin, #"{"url":"\#(receiver.url)","events":"*","project":\#(project.id),"description":"ci"}"#)
        #expect(created == 201)
        let secret = try #require(body["webhook"]?["secret"]?.stringValue)
        #expect(secret.hasPrefix("whsec_"))
        let listed = try app.call("GET", "/api/webhooks", admin).json
        #expect(!listed.jsonText.contains(secret), "the secret is shown once, at creation")

        // A refused import (a bad line) rolls back: no event. A good one commits one.
        let refused = try app.call("POST", "/api/projects/\(project.id)/pairs", admin, "{\"prompt\":\"x\"}\n")
        #expect(refused.status == 422)
        let imported = try app.call(
            "POST", "/api/projects/\(project.id)/pairs", admin, #"{"id":"p2","prompt":"q","response_a":"a","response_b":"b"}"# + "\n")
        #expect(imported.status == 200 || imported.status == 201)
        // Judge every pair; quarantine the annotator.
        while true {
            let (status, assignment) = try app.next(annotator, project: project.id)
            guard status == 200, let id = assignment?["id"]?.intValue else { break }
            #expect(try app.submit(annotator, assignment: id, #"{"choice":"left"}"#).0 == 201)
        }
        #expect(
            try app.call("POST", "/api/projects/\(project.id)/raters/ann/status", admin, #"{"status":"quarantined","comment":"test"}"#)
                .status == 200)

        // The first attempt met a 503; the retry is due once the clock passes it.
        #expect(await receiver.wait { !$0.isEmpty })
        app.clock.advance(seconds: 60)
        let types = ["import.finished", "judgement.created", "pair.completed", "project.completed", "rater.quarantined"]
        let arrived = await receiver.wait { deliveries in
            let seen = Set(deliveries.compactMap { try? JSONValue.parse($0.body)["type"]?.stringValue })
            return Set(types).isSubset(of: seen) && deliveries.count >= 5
        }
        #expect(arrived, "\(receiver.deliveries.map(\.text))")
        let deliveries = receiver.deliveries
        try #require(deliveries.count >= 2)
        // Ids: the first one twice (503, then 204), then each once, increasing.
        let ids = deliveries.map { $0.headers["webhook-id"] ?? "" }
        #expect(ids[0] == ids[1])
        let events = try deliveries.dropFirst().map { try JSONValue.parse($0.body) }
        let numbers = ids.dropFirst().map { Int($0.dropFirst(4)) ?? 0 }
        #expect(numbers == numbers.sorted() && Set(numbers).count == numbers.count, "\(ids)")
        #expect(zip(ids.dropFirst(), events).allSatisfy { $0 == $1["id"]?.stringValue })
        #expect(events.filter { $0["type"]?.stringValue == "import.finished" }.count == 1, "the refused import said nothing")
        let pairsDone = events.filter { $0["type"]?.stringValue == "pair.completed" }
            .flatMap { $0["data"]?["pairs"]?.arrayValue ?? [] }.compactMap { $0["pair"]?.stringValue }
        #expect(pairsDone.sorted() == ["p0", "p1", "p2"])
        let judged = events.filter { $0["type"]?.stringValue == "judgement.created" }.flatMap {
            $0["data"]?["judgements"]?.arrayValue ?? []
        }
        #expect(judged.count == 3)
        #expect(judged.allSatisfy { $0["annotator"]?.stringValue == "ann" && $0["choice"] != nil })
        #expect(events.allSatisfy { $0["data"]?["project"]?["name"]?.stringValue == "p" })

        // The reference verifier accepts every delivery, and refuses a changed body.
        try verify(deliveries, secret: secret)

        let list = try app.call("GET", "/api/webhooks", admin).json
        let counts = list["webhooks"]?.arrayValue?.first?["deliveries"]
        #expect(counts?["pending"] == 0 && counts?["failed"] == 0)
        #expect(counts?["delivered"]?.intValue == Int64(Set(ids).count))
        await app.stop()
        receiver.close()
    }

    /// A receiver that is down gets everything once it is back, in order; a
    /// delivery past the retry window is marked failed with the last answer, and
    /// an admin can send it again.
    @Test(arguments: TestEngine.all)
    func aReceiverThatWasDownGetsEverythingOnceBack(engine: TestEngine) async throws {
        let receiver = try WebhookReceiver(listening: false)
        let app = try TestApp(engine: engine) {
            $0.webhooks.pollInterval = 0.05
            $0.webhooks.retryWindow = 3_600_000
        }
        let project = try await app.project(pairs: 1)
        let admin = try await app.user("root", role: .admin)
        let (created, body) = try app.call(
            "POST", "/api/webhooks", admin, #"{"url":"\#(receiver.url)","events":["import.finished"]}"#)
        #expect(created == 201)
        let id = try #require(body["webhook"]?["id"]?.intValue)
        for index in 0..<3 {
            let line = #"{"id":"n\#(index)","prompt":"q\#(index)","response_a":"a","response_b":"b"}"#
            #expect(try app.call("POST", "/api/projects/\(project.id)/pairs", admin, line + "\n").status < 300)
        }
        // Tried, refused, waiting.
        let tried = try await poll {
            try app.call("GET", "/api/webhooks/\(id)/deliveries?state=pending", admin).json["deliveries"]?.arrayValue?
                .contains { ($0["attempts"]?.intValue ?? 0) >= 1 } ?? false
        }
        #expect(tried)
        let pending = try app.call("GET", "/api/webhooks/\(id)/deliveries", admin).json["deliveries"]?.arrayValue ?? []
        #expect(pending.count == 3)
        #expect(pending.first { ($0["attempts"]?.intValue ?? 0) >= 1 }?["last_response"]?.stringValue?.contains("refused") == true)
        #expect(pending.filter { $0["attempts"] == 0 }.count == 2, "later events wait for the first: per-endpoint order")

        // Past the retry window (counted from each event): all three fail, the reason kept.
        app.clock.advance(seconds: 3_700)
        #expect(
            try await poll {
                try app.call("GET", "/api/webhooks", admin).json["webhooks"]?.arrayValue?.first?["deliveries"]?["failed"] == 3
            })
        let failed = try app.call("GET", "/api/webhooks/\(id)/deliveries?state=failed", admin).json["deliveries"]?.arrayValue ?? []
        #expect(failed.allSatisfy { $0["last_response"]?.stringValue?.contains("refused") == true })
        // Back up; sent again on request (a fresh window), in order.
        try receiver.listen()
        #expect(try app.call("POST", "/api/webhooks/\(id)/retry", admin).json["retried"] == 3)
        #expect(await receiver.wait { $0.count >= 3 }, "\(receiver.deliveries.map(\.text))")
        let names = receiver.deliveries.compactMap { try? JSONValue.parse($0.body)["id"]?.stringValue }
        #expect(names.count == 3 && names == names.sorted { Int($0.dropFirst(4))! < Int($1.dropFirst(4))! })
        #expect(Set(names).count == 3)
        await app.stop()
        receiver.close()
    }

    /// With private addresses refused, a loopback endpoint is never connected to.
    @Test func privateAddressesCanBeRefused() async throws {
        let receiver = try WebhookReceiver()
        let app = try TestApp {
            $0.webhooks.pollInterval = 0.05; $0.webhooks.refusePrivateAddresses = true
        }
        let project = try await app.project(pairs: 1)
        let admin = try await app.user("root", role: .admin)
        let id = try #require(
            try app.call("POST", "/api/webhooks", admin, #"{"url":"\#(receiver.url)","events":["import.finished"]}"#).json["webhook"]?[
                "id"]?
                .intValue)
        _ = try app.call(
            "POST", "/api/projects/\(project.id)/pairs", admin, #"{"id":"n","prompt":"q","response_a":"a","response_b":"b"}"# + "\n")
        #expect(
            try await poll {
                try app.call("GET", "/api/webhooks/\(id)/deliveries", admin).json["deliveries"]?.arrayValue?.first?["last_response"]?
                    .stringValue?.contains("private") ?? false
            })
        #expect(receiver.deliveries.isEmpty)
        await app.stop()
        receiver.close()
    }

    /// Two nodes on one PostgreSQL database, both writing events: one sends
    /// (the `webhooks` lease), so the receiver gets each event once.
    @Test(.enabled(if: PostgresServer.available, "needs PostgreSQL"))
    func twoNodesSendEachEventOnce() async throws {
        let receiver = try WebhookReceiver()
        let first = try TestApp(engine: .postgres) { $0.webhooks.pollInterval = 0.02 }
        let second = try TestApp(engine: .postgres, sharing: first) { $0.webhooks.pollInterval = 0.02 }
        let project = try await first.project(pairs: 1)
        let admin = try await first.user("root", role: .admin)
        #expect(try first.call("POST", "/api/webhooks", admin, #"{"url":"\#(receiver.url)","events":["import.finished"]}"#).status == 201)
        for index in 0..<10 {
            let node = index % 2 == 0 ? first : second
            let line = #"{"id":"n\#(index)","prompt":"q\#(index)","response_a":"a","response_b":"b"}"# + "\n"
            #expect(try node.call("POST", "/api/projects/\(project.id)/pairs", admin, line).status < 300)
        }
        #expect(await receiver.wait { $0.count >= 10 })
        try await Task.sleep(nanoseconds: 300_000_000)
        let ids = receiver.deliveries.map { $0.headers["webhook-id"] ?? "" }
        #expect(ids.count == 10 && Set(ids).count == 10, "\(ids)")
        await second.stop()
        await first.stop()
        receiver.close()
    }

    /// An imported crowd with a rater who always clicks left: the judgements
    /// arrive in batches, the detector's flag once.
    @Test(arguments: TestEngine.all)
    func aFlaggedRaterIsReportedOnceAndJudgementsInBatches(engine: TestEngine) async throws {
        let receiver = try WebhookReceiver()
        let app = try TestApp(engine: engine) { $0.webhooks.pollInterval = 0.05 }
        let project = try await app.project(pairs: 60)
        let admin = try await app.user("root", role: .admin)
        let events = #"["rater.flagged","judgement.created"]"#
        #expect(try app.call("POST", "/api/webhooks", admin, #"{"url":"\#(receiver.url)","events":\#(events)}"#).status == 201)
        var lines: [String] = []
        var random = SplitMix(seed: 5)
        for pair in 0..<60 {
            let truth = pair % 2 == 0 ? "A" : "B"
            for rater in 0..<5 {
                let choice = random.next() % 10 == 0 ? (truth == "A" ? "B" : "A") : truth
                lines.append(
                    #"{"pair":"p\#(pair)","annotator":"r\#((pair + rater) % 8)","choice":"\#(choice)","shown_swapped":\#(random.next() % 2 == 0),"duration_ms":20000}"#
                )
            }
            let swapped = random.next() % 2 == 0
            lines.append(
                #"{"pair":"p\#(pair)","annotator":"lefty","choice":"\#(swapped ? "B" : "A")","shown_swapped":\#(swapped),"duration_ms":20000}"#
            )
        }
        try await app.importJudgements(lines, into: project)
        let flagged = await receiver.wait { deliveries in
            deliveries.contains { (try? JSONValue.parse($0.body)["type"]) == "rater.flagged" }
        }
        #expect(flagged)
        let all = await receiver.wait { deliveries in
            deliveries.compactMap { try? JSONValue.parse($0.body)["data"]?["judgements"]?.arrayValue?.count }.reduce(0, +) >= 360
        }
        #expect(all)
        let parsed = receiver.deliveries.compactMap { try? JSONValue.parse($0.body) }
        let judged = parsed.filter { $0["type"] == "judgement.created" }.map { $0["data"]?["judgements"]?.arrayValue?.count ?? 0 }
        #expect(judged.reduce(0, +) == 360 && judged.allSatisfy { $0 <= 100 }, "\(judged)")
        let flags = parsed.filter { $0["type"] == "rater.flagged" }
        #expect(
            flags.count == 1 && flags.first?["data"]?["rater"] == "lefty" && flags.first?["data"]?["finding"] == "malicious", "\(flags)")
        await app.stop()
        receiver.close()
    }

    @Test func registrationRefusesBadInput() async throws {
        let app = try TestApp()
        let admin = try await app.user("root", role: .admin)
        let annotator = try await app.user("ann")
        for (body, message) in [
            (#"{"url":"ftp://x","events":"*"}"#, "url"), (#"{"url":"http://x","events":["nope"]}"#, "unknown event"),
            (#"{"url":"http://x","events":[]}"#, "events"), (#"{"url":"http://x","events":"*","project":"missing"}"#, "no such project"),
            (#"{"url":"http://x","events":"*","extra":1}"#, "unknown field"), (#"{"events":"*"}"#, "url"),
            (#"{"url":"http://\#(String(repeating: "x", count: 3000))","events":"*"}"#, "url"),
        ] {
            let (status, json) = try app.call("POST", "/api/webhooks", admin, body)
            #expect((400..<500).contains(status), "\(body)")
            #expect(json["error"]?["message"]?.stringValue?.contains(message) == true, "\(json)")
        }
        #expect(try app.call("POST", "/api/webhooks", annotator, #"{"url":"http://x","events":"*"}"#).status == 403)
        #expect(try app.call("GET", "/api/webhooks/99/deliveries?state=odd", admin).status == 400)
        #expect(try app.call("GET", "/api/webhooks/99/deliveries?limit=99999999999999999999", admin).status == 400)
        #expect(try app.call("DELETE", "/api/webhooks/99", admin).status == 404)
        #expect(try await app.count("SELECT count(*) FROM webhooks") == 0)
        await app.stop()
    }

    func poll(timeout: Double = 20, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        return try condition()
    }

    /// Runs the `standardwebhooks` package's verifier over what arrived.
    func verify(_ deliveries: [WebhookReceiver.Delivery], secret: String) throws {
        let directory = TemporaryDirectory()
        let file = directory.path + "/deliveries.json"
        let list: JSONValue = [
            "secret": .string(secret),
            "deliveries": .array(
                deliveries.map { delivery in
                    [
                        "headers": .object(
                            JSONObject(delivery.headers.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string($0.value)) })),
                        "body": .string(Data(delivery.body).base64EncodedString()),
                    ]
                }),
        ]
        try Data(list.serialized()).write(to: URL(fileURLWithPath: file))
        let script = """
            import base64, json, sys
            from standardwebhooks.webhooks import Webhook, WebhookVerificationError
            data = json.load(open(sys.argv[1]))
            hook = Webhook(data["secret"])
            for d in data["deliveries"]:
                body = base64.b64decode(d["body"])
                hook.verify(body, d["headers"])
                try:
                    hook.verify(body + b" ", d["headers"])
                    sys.exit("a changed body verified")
                except WebhookVerificationError:
                    pass
            print("verified", len(data["deliveries"]))
            """
        let run = try PythonReference.run(["-c", script, file])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("verified \(deliveries.count)"))
    }
}

/// The real executable: the command line, and a SIGKILL after events committed.
@Suite struct WebhookProcessTests {
    @Test func theCommandLineRegistersListsAndRemoves() throws {
        let directory = TemporaryDirectory()
        let db = directory.path + "/hooks.sqlite"
        #expect(try CommandRunner.arbiter(["project", "create", "--db", db, "--name", "p"]).status == 0)
        let added = try CommandRunner.arbiter([
            "webhook", "add", "--db", db, "--url", "https://example.org/hook", "--events", "import.finished, export.ready", "--project",
            "p",
        ])
        #expect(added.status == 0, "\(added.stderr)")
        let lines = added.stdout.split(separator: "\n")
        #expect(lines.first == "webhook 1: https://example.org/hook")
        let secret = try #require(lines.last?.split(separator: " ").last)
        #expect(secret.hasPrefix("whsec_"))
        let listed = try CommandRunner.arbiter(["webhook", "list", "--db", db, "--json"])
        let webhook = try JSONValue.parse(Array(listed.stdout.utf8))["webhooks"]?.arrayValue?.first
        #expect(webhook?["events"] == ["export.ready", "import.finished"])
        #expect(webhook?["project"]?["name"] == "p")
        #expect(!listed.stdout.contains(secret), "listing never shows the secret")
        for bad in [
            ["--url", "gopher://x", "--events", "*"], ["--url", "http://x", "--events", "nope"],
            ["--url", "http://x", "--events", "*", "--project", "q"],
        ] {
            let refused = try CommandRunner.arbiter(["webhook", "add", "--db", db] + bad)
            #expect(refused.status != 0)
            #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        }
        #expect(try CommandRunner.arbiter(["webhook", "remove", "--db", db, "--id", "1"]).status == 0)
        #expect(try CommandRunner.arbiter(["webhook", "remove", "--db", db, "--id", "1"]).status != 0)
    }

    /// Events committed and acknowledged, the server SIGKILLed before it could
    /// send them: the next run sends every one (at least once; ids tell repeats).
    @Test func eventsCommittedBeforeASIGKILLAreSentByTheNextRun() async throws {
        let directory = TemporaryDirectory()
        let db = directory.path + "/hooks.sqlite"
        let receiver = try WebhookReceiver(listening: false)
        #expect(try CommandRunner.arbiter(["project", "create", "--db", db, "--name", "p"]).status == 0)
        #expect(try CommandRunner.arbiter(["user", "add", "--db", db, "--username", "root", "--role", "admin"]).status == 0)
        let token = String(
            try CommandRunner.arbiter(["token", "create", "--db", db, "--username", "root"]).stdout.split(separator: "\n")[0])
        #expect(
            try CommandRunner.arbiter(["webhook", "add", "--db", db, "--url", receiver.url, "--events", "import.finished"]).status == 0)
        var server = try ServerProcess(["serve", "--port", "0", "--log-level", "notice", "--db", db])
        for index in 0..<3 {
            let line = #"{"id":"n\#(index)","prompt":"q\#(index)","response_a":"a","response_b":"b"}"# + "\n"
            let response = try RawClient(port: server.port).request(
                "POST", "/api/projects/1/pairs", headers: ["Authorization": "Bearer \(token)"], body: Array(line.utf8))
            #expect(response.status < 300)
        }
        server.signal(SIGKILL)
        _ = server.waitForExit()
        try receiver.listen()
        server = try ServerProcess(["serve", "--port", "0", "--log-level", "notice", "--db", db])
        #expect(await receiver.wait { Set($0.map { $0.headers["webhook-id"] ?? "" }).count == 3 }, "\(receiver.deliveries.map(\.text))")
        let imported = receiver.deliveries.compactMap { try? JSONValue.parse($0.body)["data"]?["imported"] }
        #expect(imported.allSatisfy { $0 == 1 })
        server.signal(SIGTERM)
        #expect(server.waitForExit() == 0)
        receiver.close()
    }
}
