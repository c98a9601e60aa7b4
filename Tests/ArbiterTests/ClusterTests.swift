@testable import Arbiter
import Glibc
import JSON
import Storage
import Synchronization
import Testing
import TestSupport

/// Several `arbiter serve` processes on one PostgreSQL database, as behind a load
/// balancer: 64 annotators send each request to a node drawn at random (a retry
/// too), and the annotation loop's promises hold across nodes — a pair never
/// judged more than its overlap, never twice by one annotator, every acknowledged
/// judgement stored exactly once — while a node is killed, or PostgreSQL restarts.
@Suite(.serialized, .enabled(if: PostgresServer.available, "needs PostgreSQL: apt-get install postgresql"))
struct ClusterTests {
    static let pairs = 120
    static let overlap = 3
    static let annotators = 64

    /// Three nodes with the project seeded; their ports.
    final class Cluster: @unchecked Sendable {
        // @unchecked Sendable: `nodes` is guarded by `lock`; the rest is set in init.
        let url: String
        let projectID: Int
        let tokens: [String]
        private let lock = Mutex<Void>(())
        private var nodes: [Int: ServerProcess] = [:]
        let ports: [Int]

        init(url: String, nodes: Int = 3) throws {
            self.url = url
            let db = try ArbiterStore.openConnection(.postgres(url: url), migrationsRoot: try Locations.migrationsDirectory(nil))
            var settings = ProjectSettings()
            settings.overlap = ClusterTests.overlap
            let project = try Projects.create(db, name: "cluster", settings: settings)
            let lines = (0..<ClusterTests.pairs).map {
                #"{"id":"p\#($0)","prompt":"q\#($0)","response_a":"A\#($0)","response_b":"B\#($0)"}"#
            }
            var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
            tokens = try (0..<ClusterTests.annotators).map { index in
                let user = try Users.add(db, username: "ann\(index)", role: .annotator)
                return try Users.createToken(db, userID: user.id).token
            }
            projectID = project.id
            var started: [Int: ServerProcess] = [:]
            for _ in 0..<nodes {
                let node = try ServerProcess(["serve", "--port", "0", "--db", url, "--log-level", "notice", "--threads", "1"])
                started[node.port] = node
            }
            ports = started.keys.sorted()
            self.nodes = started
        }

        func kill(port: Int) {
            guard let node = lock.withLock({ _ in nodes.removeValue(forKey: port) }) else { return }
            node.signal(SIGKILL)
            _ = node.waitForExit()
        }

        func stop() {
            let running = lock.withLock { _ -> [ServerProcess] in
                defer { nodes = [:] }
                return Array(nodes.values)
            }
            for node in running {
                node.signal(SIGTERM)
                _ = node.waitForExit()
            }
        }

        var livePorts: [Int] { lock.withLock { _ in nodes.keys.sorted() } }
    }

    /// What the annotators saw: acknowledged judgements by assignment id, and how
    /// often a node was down or answered 503.
    final class Ledger: Sendable {
        let acknowledged = Mutex<[Int64: String]>([:])
        let unavailable = Atomic<Int>(0)
        let refused = Atomic<Int>(0)
        var count: Int { acknowledged.withLock { $0.count } }
    }

    /// One request to a node drawn at random, retried (on another draw) while
    /// nodes are down or the database is unavailable; nil after 60 s of trying.
    static func request(
        _ cluster: Cluster, _ ledger: Ledger, random: inout SplitMix, _ method: String, _ path: String, token: String, body: String? = nil
    ) -> RawClient.Response? {
        var headers = ["Authorization": "Bearer \(token)"]
        if body != nil { headers["Content-Type"] = "application/json" }
        for _ in 0..<600 {
            let port = cluster.ports[Int(random.next() % UInt64(cluster.ports.count))]
            if let client = try? RawClient(port: port, timeout: 10),
                let response = try? client.request(method, path, headers: headers, body: body.map { Array($0.utf8) } ?? []),
                response.status != 503
            {
                return response
            }
            ledger.unavailable.add(1, ordering: .relaxed)
            usleep(100_000)
        }
        return nil
    }

    /// One annotator judging until nothing is left for them; `after` runs once per acknowledgement.
    static func annotate(_ cluster: Cluster, _ ledger: Ledger, index: Int) {
        var random = SplitMix(seed: UInt64(index + 1))
        let token = cluster.tokens[index]
        while true {
            guard let next = request(cluster, ledger, random: &random, "GET", "/api/projects/\(cluster.projectID)/next", token: token)
            else { return }
            if next.status == 204 { return }
            guard next.status == 200, let id = (try? JSONValue.parse(next.body))?["assignment"]?["id"]?.intValue else {
                ledger.refused.add(1, ordering: .relaxed)
                return
            }
            let side = random.next() % 2 == 0 ? "left" : "right"
            guard
                let submitted = request(
                    cluster, ledger, random: &random, "POST", "/api/assignments/\(id)/annotation", token: token,
                    body: #"{"choice":"\#(side)"}"#),
                submitted.status == 201 || submitted.status == 200,
                let choice = (try? JSONValue.parse(submitted.body))?["annotation"]?["choice"]?.stringValue
            else {
                ledger.refused.add(1, ordering: .relaxed)
                return
            }
            ledger.acknowledged.withLock { $0[id] = choice }
        }
    }

    /// The promises, checked in the database once every annotator is done.
    static func verify(_ cluster: Cluster, _ ledger: Ledger) throws {
        let db = try PostgresDatabase(url: cluster.url)
        #expect(ledger.refused.load(ordering: .relaxed) == 0, "no request was refused")
        let stored = try db.query("SELECT assignment_id, choice FROM annotations WHERE kind = 'normal'") { ($0.int64(0), $0.string(1)) }
        let acknowledged = ledger.acknowledged.withLock { $0 }
        #expect(stored.count == pairs * overlap, "every pair judged exactly its overlap")
        #expect(
            Dictionary(stored, uniquingKeysWith: { first, _ in first }) == acknowledged,
            "every acknowledged judgement stored once, as acknowledged")
        #expect(
            try db.queryFirst(
                "SELECT count(*) FROM (SELECT 1 FROM annotations GROUP BY pair_id HAVING count(*) > ?) x", [.int(Int64(overlap))]
            ) { $0.int(0) } == 0)
        #expect(
            try db.queryFirst("SELECT count(*) FROM (SELECT 1 FROM annotations GROUP BY pair_id, user_id HAVING count(*) > 1) x") {
                $0.int(0)
            } == 0)
        #expect(try db.queryFirst("SELECT max(active_count) FROM pairs") { $0.int(0) } == overlap)
        #expect(try db.queryFirst("SELECT count(*) FROM assignments WHERE state = 'leased'") { $0.int(0) } == 0, "no lease left behind")
    }

    @Test func threeNodesOneKilledUnderLoad() throws {
        let cluster = try Cluster(url: try PostgresServer.freshDatabase())
        defer { cluster.stop() }
        let ledger = Ledger()
        let load = Threads.start(Self.annotators) { index in Self.annotate(cluster, ledger, index: index) }
        // A third of the way in, one node dies without a word.
        while ledger.count < Self.pairs * Self.overlap / 3 { usleep(10_000) }
        cluster.kill(port: cluster.ports[0])
        load.wait()
        #expect(cluster.livePorts.count == 2)
        try Self.verify(cluster, ledger)
    }

    @Test func postgresRestartsUnderLoad() throws {
        let server = try PostgresServer()
        let cluster = try Cluster(url: try server.database("restart"))
        defer { cluster.stop() }
        let ledger = Ledger()
        let load = Threads.start(Self.annotators) { index in Self.annotate(cluster, ledger, index: index) }
        while ledger.count < Self.pairs * Self.overlap / 3 { usleep(10_000) }
        try server.stop()
        // Meanwhile every node says it is not ready, and nothing is acknowledged.
        for port in cluster.ports {
            let ready = try RawClient(port: port).request("GET", "/readyz")
            #expect(ready.status == 503, "node \(port) while PostgreSQL is down: \(ready)")
        }
        let before = ledger.count
        usleep(1_000_000)
        #expect(ledger.count == before, "nothing acknowledged while the database is down")
        try server.start()
        load.wait()
        #expect(ledger.unavailable.load(ordering: .relaxed) > 0, "the annotators did see the outage")
        for port in cluster.ports {
            #expect(try RawClient(port: port).request("GET", "/readyz").status == 200, "node \(port) ready again")
        }
        try Self.verify(cluster, ledger)
    }

    @Test func revokingATokenOrDisablingAUserReachesEveryNodeWithinTheCacheTime() throws {
        let cluster = try Cluster(url: try PostgresServer.freshDatabase(), nodes: 2)
        defer { cluster.stop() }
        let db = try PostgresDatabase(url: cluster.url)
        let admin = try Users.createToken(db, userID: try Users.add(db, username: "boss", role: .admin).id).token
        let (a, b) = (cluster.ports[0], cluster.ports[1])
        func status(_ port: Int, _ method: String, _ path: String, _ token: String, _ body: String? = nil) throws -> Int {
            var headers = ["Authorization": "Bearer \(token)"]
            if body != nil { headers["Content-Type"] = "application/json" }
            return try RawClient(port: port).request(method, path, headers: headers, body: body.map { Array($0.utf8) } ?? []).status
        }
        let (revoked, disabled) = (cluster.tokens[0], cluster.tokens[1])
        // Node b knows both credentials (and caches them).
        #expect(try status(b, "GET", "/api/projects", revoked) == 200)
        #expect(try status(b, "GET", "/api/projects", disabled) == 200)
        let tokenID = try #require(
            try db.queryFirst("SELECT t.id FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.username = 'ann0'") { $0.int(0) })
        let userID = try #require(try db.queryFirst("SELECT id FROM users WHERE username = 'ann1'") { $0.int(0) })
        // Node a revokes one and disables the other: a refuses at once …
        #expect(try status(a, "DELETE", "/api/tokens/\(tokenID)", admin) == 200)
        #expect(try status(a, "PATCH", "/api/users/\(userID)", admin, #"{"disabled":true}"#) == 200)
        #expect(try status(a, "GET", "/api/projects", revoked) == 401)
        #expect(try status(a, "GET", "/api/projects", disabled) == 401)
        // … and b once its cache entries have expired (the documented bound).
        usleep(useconds_t(Authenticator.cacheTTL + 500) * 1000)
        #expect(try status(b, "GET", "/api/projects", revoked) == 401)
        #expect(try status(b, "GET", "/api/projects", disabled) == 401)
    }
}
