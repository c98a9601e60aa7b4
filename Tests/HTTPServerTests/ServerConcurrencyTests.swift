import CLinux
import Glibc
import HTTPServer
import Testing
import TestSupport

/// Slow handlers, many connections, shutdown.
@Suite struct ServerConcurrencyTests {
    @Test func slowHandlerDoesNotDelayOtherConnections() async throws {
        // One event loop, so the slow request and the others share a thread.
        let server = try TestServer(router: TestRoutes.make()) { $0.eventLoops = 1 }
        let slow = try server.client()
        try slow.send("GET /sleep/2000 HTTP/1.1\r\nHost: a\r\n\r\n")
        let clients = try (0..<16).map { _ in try server.client() }
        for _ in 0..<5 {
            for client in clients {
                #expect(try client.request("GET", "/healthz").status == 200)
                #expect(try client.request("GET", "/params/a/x/b").status == 200)
            }
        }
        // 160 requests were answered while the slow one is still in its handler.
        #expect(!slow.hasPendingData(), "the slow request must still be running")
        #expect(try slow.readResponse().bodyText == "slept 2000")
        await server.stop()
    }

    @Test func gracefulShutdownFinishesInFlightRequests() async throws {
        let server = try TestServer(router: TestRoutes.make())
        let busy = try server.client()
        try busy.send("GET /sleep/1500 HTTP/1.1\r\nHost: a\r\n\r\n")
        let idle = try server.client()
        #expect(try idle.request("GET", "/healthz").status == 200)
        usleep(50_000)  // let the slow request reach its handler

        server.server.beginShutdown()
        // The idle connection is closed at once; no new connection is accepted.
        #expect(idle.isClosedByServer())
        var refused = false
        for _ in 0..<50 where !refused {
            refused = (try? RawClient(port: server.port)) == nil
            if !refused { usleep(20_000) }
        }
        #expect(refused, "the listener must close")
        // The in-flight request completes, told that the connection closes.
        let response = try busy.readResponse()
        #expect(response.bodyText == "slept 1500")
        #expect(response.header("connection") == "close")
        #expect(busy.isClosedByServer())
        await server.server.waitUntilStopped()
        #expect(server.server.openConnections == 0)
    }

    @Test func shutdownDeadlineCutsStragglers() async throws {
        let server = try TestServer(router: TestRoutes.make()) { $0.shutdownGracePeriod = .milliseconds(300) }
        let busy = try server.client()
        try busy.send("GET /sleep/5000 HTTP/1.1\r\nHost: a\r\n\r\n")
        usleep(50_000)
        await server.stop()  // returns after the grace period, not after 5 s
        #expect(busy.isClosedByServer())
    }

    @Test func pastMaxConnectionsTheServerBacksOff() async throws {
        let limit = 64
        let server = try TestServer(router: TestRoutes.make()) { $0.maxConnections = limit }
        var clients = try (0..<limit).map { _ in try server.client() }
        for client in clients { #expect(try client.request("GET", "/healthz").status == 200) }
        // One more waits in the kernel's backlog: the server stops accepting, it does not fail...
        let extra = try server.client(timeout: 1)
        try extra.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(throws: RawClient.ClientError.self) { try extra.readResponse() }
        #expect(server.server.openConnections == limit)
        // ...and serves it once a connection closes.
        clients.removeLast()
        extra.setTimeout(seconds: 10)
        #expect(try extra.readResponse().status == 200)
        await server.stop()
    }
}

/// 10,000 idle keep-alive connections against the real `arbiter serve` process
/// (its own process, so each side has its own descriptor limit).
@Suite(.serialized) struct ManyConnectionsTests {
    @Test func tenThousandIdleConnectionsAreHeld() throws {
        let wanted = 10_000
        let limit = clinux_raise_nofile(Int(wanted + 1_000))
        try #require(limit >= wanted + 500, "RLIMIT_NOFILE too low: \(limit)")
        let directory = TemporaryDirectory()
        // All from 127.0.0.1: this test is about capacity, so the per-address cap is raised.
        let server = try ServerProcess([
            "serve", "--db", directory.path + "/idle.sqlite", "--port", "0", "--log-level", "notice",
            "--max-connections-per-address", "20000",
        ])
        var clients: [RawClient] = []
        clients.reserveCapacity(wanted)
        for index in 0..<wanted {
            clients.append(try RawClient(port: server.port, timeout: 30))
            // Let the server's accept queue (4096) drain now and then: on a loaded
            // machine an overflowing queue drops handshakes, and their retransmits
            // back off for seconds.
            if index % 256 == 255 { usleep(20_000) }
        }
        // All of them are served: first and last few, and every 250th.
        for index in Array(stride(from: 0, to: wanted, by: 250)) + [wanted - 1] {
            #expect(try clients[index].request("GET", "/healthz").status == 200)
        }
        // All are still open: each answers again on the same connection.
        var answered = 0
        for client in clients {
            try client.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        }
        for client in clients where try client.readResponse().status == 200 { answered += 1 }
        #expect(answered == wanted)
        clients.removeAll()
        server.signal(SIGTERM)
        #expect(server.waitForExit() == 0)
    }
}
