import Glibc
import HTTPServer
import Testing
import TestSupport

/// A TLS handshake is held to the head's deadline: trickled, it is cut as a slow
/// request head is, not kept until the idle timer.
@Suite struct TLSDeadlineTests {
    @Test func aTrickledHandshakeIsCutAtTheHeadDeadline() async throws {
        let directory = TemporaryDirectory()
        let made = try CommandRunner.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory.path + "/key.pem", "-out",
                directory.path + "/cert.pem",
                "-days", "2", "-subj", "/CN=127.0.0.1",
            ])
        try #require(made.status == 0, "\(made)")
        let tls = try TLSContext(certificatePath: directory.path + "/cert.pem", keyPath: directory.path + "/key.pem")
        let server = try TestServer(router: TestRoutes.make()) {
            $0.tls = tls
            $0.headerReadTimeout = .seconds(1)
            $0.idleTimeout = .seconds(60)
        }
        let client = try server.client(timeout: 30)
        // The first bytes of a ClientHello, then one byte a second.
        let hello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03] + [UInt8](repeating: 0x11, count: 32)
        var sent = 0
        var closed = false
        while sent < hello.count && !closed {
            do { try client.send([hello[sent]]) } catch { closed = true }
            sent += 1
            if client.hasPendingData() { closed = client.isClosedByServer() }
            usleep(250_000)
        }
        if !closed { client.setTimeout(seconds: 5); closed = client.isClosedByServer() }
        #expect(closed)
        #expect(sent < 20, "cut after about a second, not after the 60 s idle timer (\(sent) bytes sent, one per 250 ms)")
        await server.stop()
    }
}
