import Glibc
import HTTPServer
import Synchronization
import Testing
import TestSupport

/// Pipelining back-pressure: a client that sends many requests and reads none of
/// the answers does not make the server answer (and buffer) all of them.
@Suite struct BackPressureTests {
    final class Counter: Sendable {
        let value = Mutex(0)
    }

    @Test func aClientThatDoesNotReadStopsBeingRead() async throws {
        let counter = Counter()
        var router = Router()
        router.inline(.GET, "/chunk") { _ in
            counter.value.withLock { $0 += 1 }
            return Response(contentType: "application/octet-stream", body: [UInt8](repeating: 0x63, count: 64 * 1024))
        }
        let server = try TestServer(router: router)
        let client = try server.client(timeout: 30)
        // 1,000 requests (36 KB) ask for 64 MB of answers; the client reads none yet.
        let total = 1000
        try client.send(String(repeating: "GET /chunk HTTP/1.1\r\nHost: a\r\n\r\n", count: total))
        usleep(500_000)
        let handled = counter.value.withLock { $0 }
        // At most 1 MiB waits in the server, plus what the kernel's socket buffers hold.
        #expect(handled < 300, "handled \(handled) of \(total) without the client reading")
        // Reading resumes the server: every answer arrives, in order, complete.
        for _ in 0..<total {
            let response = try client.readResponse()
            #expect(response.status == 200 && response.body.count == 64 * 1024)
        }
        #expect(counter.value.withLock { $0 } == total)
        await server.stop()
    }
}

/// Slow and greedy clients: a body has a deadline, not an idle timer; one address
/// holds a bounded number of connections.
@Suite struct DeadlineTests {
    @Test func aBodySentAByteAtATimeIsCutAtItsDeadline() async throws {
        let server = try TestServer(router: TestRoutes.make()) {
            $0.bodyReadTimeout = .seconds(1)
            $0.minBodyBytesPerSecond = 1000
        }
        let client = try server.client(timeout: 10)
        try client.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n")
        var sent = 0
        // One byte every 200 ms would take 20 s; each byte used to restart the timer.
        while sent < 100 && !client.hasPendingData() {
            try? client.send("x")
            sent += 1
            usleep(200_000)
        }
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(sent < 20, "cut after about a second, not after the 100 bytes (\(sent) sent)")
        await server.stop()
    }

    @Test func oneAddressHoldsABoundedNumberOfConnections() async throws {
        let server = try TestServer(router: TestRoutes.make()) {
            $0.maxConnectionsPerAddress = 4
            $0.defaultHeaders = [("X-Content-Type-Options", "nosniff")]
        }
        var held: [RawClient] = []
        for _ in 0..<4 {
            let client = try server.client()
            #expect(try client.request("GET", "/healthz").status == 200)
            held.append(client)
        }
        let fifth = try server.client()
        let refused = try fifth.readResponse()
        #expect(refused.status == 503 && refused.bodyText.contains("too_many_connections"))
        #expect(refused.header("x-content-type-options") == "nosniff", "the refusal carries the security headers too")
        #expect(fifth.isClosedByServer())
        held.removeLast()  // closes one
        var admitted = false
        for _ in 0..<50 where !admitted {
            usleep(20_000)
            admitted = (try? server.client().request("GET", "/healthz").status) == 200
        }
        #expect(admitted, "a slot frees when a connection closes")
        #expect(held.count == 3)
        await server.stop()
    }
}
