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
