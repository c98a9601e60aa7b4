import Glibc
import JSON
import Storage
import Synchronization
import Testing
import TestSupport

/// No acknowledged judgement is lost: annotators submit over HTTP, the server is
/// SIGKILLed at a random moment, restarted on the same file, and every
/// annotation that got a 201 (or an idempotent 200) must be there exactly once,
/// with `PRAGMA integrity_check` ok. 3 cycles here; `Benchmarks/durability/run.sh`
/// runs 20 (`ARBITER_DURABILITY_CYCLES`).
@Suite(.serialized) struct CrashDurabilityTests {
    static var cycles: Int { getenv("ARBITER_DURABILITY_CYCLES").flatMap { Int(String(cString: $0)) } ?? 3 }
    static let annotators = 16

    @Test func acknowledgedJudgementsSurviveSIGKILL() throws {
        let directory = TemporaryDirectory()
        let db = directory.path + "/crash.sqlite"
        #expect(try CommandRunner.arbiter(["project", "create", "--db", db, "--name", "p", "--overlap", "3"]).status == 0)
        // Enough pairs that the annotators never run out (about 1,200 judgements a cycle).
        directory.write(
            "pairs.jsonl",
            (0..<(2000 * Self.cycles)).map { #"{"id":"p\#($0)","prompt":"q\#($0)","response_a":"a\#($0)","response_b":"b\#($0)"}"# }
                .joined(separator: "\n"))
        #expect(try CommandRunner.arbiter(["import", "pairs", "--db", db, "--project", "p", directory.path + "/pairs.jsonl"]).status == 0)
        var tokens: [String] = []
        for index in 0..<Self.annotators {
            #expect(try CommandRunner.arbiter(["user", "add", "--db", db, "--username", "a\(index)", "--role", "annotator"]).status == 0)
            let token = try CommandRunner.arbiter(["token", "create", "--db", db, "--username", "a\(index)"])
            tokens.append(String(token.stdout.split(separator: "\n").first ?? ""))
        }
        var random = SplitMix(seed: UInt64(time(nil)))
        var acknowledged = Set<Int64>()
        for cycle in 1...Self.cycles {
            let server = try ServerProcess(["serve", "--port", "0", "--log-level", "notice", "--db", db])
            let acks = Mutex<[Int64]>([])
            let port = server.port
            let clients = tokens
            let group = Threads.start(clients.count) { index in
                Self.annotate(port: port, token: clients[index]) { id in acks.withLock { $0.append(id) } }
            }
            // Kill at a random moment while submissions are in flight (after the first 201).
            var waited = 0
            while acks.withLock({ $0.isEmpty }) && waited < 3000 {
                usleep(10_000)
                waited += 1
            }
            usleep(UInt32(random.next() % 600_000))
            server.signal(SIGKILL)
            _ = server.waitForExit()
            group.wait()
            let thisCycle = acks.withLock { $0 }
            #expect(!thisCycle.isEmpty, "cycle \(cycle): the annotators got some 201s before the kill")
            acknowledged.formUnion(thisCycle)
            // Reopen the file as the next server will (WAL recovery), then check.
            let database = try SQLiteDatabase(path: db)
            #expect(try database.queryFirst("PRAGMA integrity_check") { $0.string(0) } == "ok", "cycle \(cycle)")
            let stored = Set(try database.query("SELECT assignment_id FROM annotations WHERE assignment_id IS NOT NULL") { $0.int64(0) })
            let missing = acknowledged.subtracting(stored)
            #expect(missing.isEmpty, "cycle \(cycle): \(missing.count) acknowledged annotations lost, e.g. \(missing.sorted().prefix(5))")
            let duplicates = try database.queryFirst(
                "SELECT count(*) FROM (SELECT pair_id, user_id FROM annotations WHERE kind = 'normal' GROUP BY pair_id, user_id HAVING count(*) > 1)"
            ) { $0.int(0) }
            #expect(duplicates == 0, "cycle \(cycle): a pair judged twice by one annotator")
            if getenv("ARBITER_DURABILITY_CYCLES") != nil {
                print(
                    "cycle \(cycle): \(thisCycle.count) acknowledged this cycle, \(acknowledged.count) in all, \(missing.count) missing, integrity ok"
                )
            }
        }
        // And the server still works on the file afterwards.
        let server = try ServerProcess(["serve", "--port", "0", "--log-level", "notice", "--db", db])
        let (status, _) = try Self.next(RawClient(port: server.port), token: tokens[0])
        #expect(status == 200)
        server.signal(SIGTERM)
        #expect(server.waitForExit() == 0)
    }

    static func next(_ client: RawClient, token: String) throws -> (Int, Int64?) {
        let response = try client.request("GET", "/api/projects/1/next", headers: ["Authorization": "Bearer \(token)"])
        guard response.status == 200 else { return (response.status, nil) }
        return (200, try JSONValue.parse(response.body)["assignment"]?["id"]?.intValue)
    }

    /// One annotator: next → submit until the connection dies; reports every acknowledged assignment.
    static func annotate(port: Int, token: String, acknowledged: (Int64) -> Void) {
        guard let client = try? RawClient(port: port, timeout: 5) else { return }
        while true {
            guard let (status, id) = try? next(client, token: token), status == 200, let id else { return }
            guard
                let response = try? client.request(
                    "POST", "/api/assignments/\(id)/annotation",
                    headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"],
                    body: Array(#"{"choice":"left"}"#.utf8))
            else { return }
            if response.status == 201 || response.status == 200 { acknowledged(id) }
        }
    }
}
