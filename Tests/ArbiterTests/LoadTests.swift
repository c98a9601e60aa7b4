@testable import Arbiter
import Glibc
import HTTPServer
import JSON
import Storage
import Synchronization
import Testing
import TestSupport

/// The short CI version of `Benchmarks/load/run.sh`: many keep-alive annotators
/// with slowloris connections open at the same time. No timings are asserted
/// (the machine is shared); every request must succeed, and the slow connections
/// must be cut by the header timeout rather than hold the server.
@Suite(.serialized) struct LoadTests {
    @Test func annotatorsAreServedWhileSlowlorisConnectionsAreCut() async throws {
        let app = try TestApp { $0.http.headerReadTimeout = .seconds(1) }
        let project = try await app.project(pairs: 10000)
        var tokens: [String] = []
        for index in 0..<100 { tokens.append(try await app.user("a\(index)")) }
        let port = app.port
        let stop = Atomic<Bool>(false)
        let errors = Atomic<Int>(0)
        let stored = Atomic<Int>(0)
        let cut = Atomic<Int>(0)
        // 50 slowloris connections: a byte of request head every 200 ms, reopened when cut.
        let slow = Threads.start(1) { _ in
            let head = Array("GET /api/projects/1/next HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8)
            var sockets: [(client: RawClient, sent: Int)] = (0..<50).compactMap { _ in (try? RawClient(port: port)).map { ($0, 0) } }
            while !stop.load(ordering: .relaxed) {
                for index in sockets.indices {
                    let byte = sockets[index].sent < head.count ? head[sockets[index].sent] : UInt8(ascii: "a")
                    // Cut: the server answered (408) or closed; or the send itself failed.
                    var probe = [UInt8](repeating: 0, count: 512)
                    let answered = recv(sockets[index].client.fd, &probe, probe.count, Int32(MSG_DONTWAIT)) >= 0
                    if answered || (try? sockets[index].client.send([byte])) == nil {
                        cut.add(1, ordering: .relaxed)
                        if let again = try? RawClient(port: port) { sockets[index] = (again, 0) }
                    } else {
                        sockets[index].sent += 1
                    }
                }
                usleep(200_000)
            }
        }
        usleep(300_000)
        let clients = tokens
        let projectID = project.id
        let annotators = Threads.start(clients.count) { index in
            guard let client = try? RawClient(port: port) else { errors.add(1, ordering: .relaxed); return }
            var seed = UInt64(index + 1)
            while !stop.load(ordering: .relaxed) {
                guard
                    let next = try? client.request(
                        "GET", "/api/projects/\(projectID)/next", headers: ["Authorization": "Bearer \(clients[index])"])
                else { errors.add(1, ordering: .relaxed); return }
                if next.status == 204 { return }  // nothing left for this annotator
                guard next.status == 200, let id = try? JSONValue.parse(next.body)["assignment"]?["id"]?.intValue
                else { errors.add(1, ordering: .relaxed); return }
                guard
                    let submit = try? client.request(
                        "POST", "/api/assignments/\(id)/annotation",
                        headers: ["Authorization": "Bearer \(clients[index])", "Content-Type": "application/json"],
                        body: Array(#"{"choice":"left"}"#.utf8)), submit.status == 201
                else { errors.add(1, ordering: .relaxed); return }
                stored.add(1, ordering: .relaxed)
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                usleep(UInt32(20_000 + (seed >> 33) % 40_000))
            }
        }
        // Until what the test checks has happened (not a fixed time): 100 judgements
        // stored and every slow connection cut once, within 30 s.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline && (stored.load(ordering: .relaxed) <= 100 || cut.load(ordering: .relaxed) < 50) {
            try await Task.sleep(for: .milliseconds(50))
        }
        stop.store(true, ordering: .relaxed)
        annotators.wait()
        slow.wait()
        #expect(errors.load(ordering: .relaxed) == 0)
        #expect(stored.load(ordering: .relaxed) > 100)
        #expect(cut.load(ordering: .relaxed) >= 50, "the header timeout cut every slow connection at least once")
        #expect(try await app.count("SELECT count(*) FROM annotations") == stored.load(ordering: .relaxed))
        await app.stop()
    }
}
