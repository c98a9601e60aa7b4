import Glibc
import HTTPServer
import Testing
import TestSupport

/// Hostile and broken clients over real sockets: every rejection is the right
/// status with a JSON body, and the connection closes when the byte stream can no
/// longer be trusted.
@Suite struct ServerHostileTests {
    /// Sends `wire`, expects one response with `status`, then a closed connection.
    func expectRejected(_ wire: String, status: Int, server: TestServer) throws {
        let client = try server.client()
        try client.send(wire)
        let response = try client.readResponse()
        #expect(response.status == status, "\(wire.debugDescription)")
        #expect(response.header("content-type") == "application/json")
        #expect(response.bodyText.hasPrefix(#"{"error":"#))
        #expect(response.header("connection") == "close")
        #expect(client.isClosedByServer(), "connection must close after \(wire.debugDescription)")
    }

    @Test func smugglingAttemptsGet400AndClose() async throws {
        let server = try TestServer(router: TestRoutes.make())
        let smuggled = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
        try expectRejected(
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
            status: 400, server: server)
        try expectRejected(
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc" + smuggled,
            status: 400, server: server)
        try expectRejected(
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n" + smuggled,
            status: 400, server: server)
        try expectRejected(
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n" + smuggled,
            status: 400, server: server)
        try expectRejected("GET /healthz HTTP/1.1\nHost: a\n\n" + smuggled, status: 400, server: server)
        try expectRejected("GET /healthz HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n" + smuggled, status: 400, server: server)
        try expectRejected("GET /healthz HTTP/1.1\r\nHost : a\r\n\r\n" + smuggled, status: 400, server: server)
        try expectRejected("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", status: 501, server: server)
        try expectRejected("\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{fc}\u{03}\u{03}\r\n\r\n", status: 400, server: server)
        await server.stop()
    }

    @Test func limitsGiveTheirStatuses() async throws {
        let server = try TestServer(router: TestRoutes.make()) { $0.anonymousMaxBodyBytes = 1024 }
        try expectRejected("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: a\r\n\r\n", status: 414, server: server)
        var headers = "GET / HTTP/1.1\r\nHost: a\r\n"
        for index in 0..<101 { headers += "X-\(index): v\r\n" }
        try expectRejected(headers + "\r\n", status: 431, server: server)
        try expectRejected(
            "GET / HTTP/1.1\r\nHost: a\r\nCookie: " + String(repeating: "c", count: 65 * 1024) + "\r\n\r\n", status: 431, server: server)
        try expectRejected("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2048\r\n\r\n", status: 413, server: server)
        try expectRejected(
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + String(repeating: "x", count: 2048)
                + "\r\n0\r\n\r\n",
            status: 413, server: server)
        try expectRejected("GET / HTTP/3.0\r\nHost: a\r\n\r\n", status: 505, server: server)

        // A route may allow a larger body than the default.
        let client = try server.client()
        let big = [UInt8](repeating: 0x61, count: 1_000_000)
        let response = try client.request("POST", "/upload", body: big)
        #expect(response.status == 200)
        #expect(response.bodyText == "1000000")
        await server.stop()
    }

    @Test func oversizedBodyAnswerIsReadableWhileTheClientIsStillSending() async throws {
        let server = try TestServer(router: TestRoutes.make()) { $0.anonymousMaxBodyBytes = 1024 }
        let client = try server.client()
        // Head and part of a 10 MB body that the server will refuse.
        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n" + String(repeating: "x", count: 100_000))
        let response = try client.readResponse()
        #expect(response.status == 413)
        await server.stop()
    }

    @Test func slowHeaderClientGets408WhileOthersAreServed() async throws {
        let server = try TestServer(router: TestRoutes.make()) { $0.headerReadTimeout = .seconds(3) }
        let slow = try server.client()
        try slow.send("GET /healthz HTTP/1.1\r\nHost: a\r\n")
        // Dribbling bytes does not extend the deadline (it runs from the first byte).
        let others = try (0..<8).map { _ in try server.client() }
        for round in 0..<6 {
            try slow.send("X-\(round): y\r\n")
            for client in others { #expect(try client.request("GET", "/healthz").status == 200) }
            usleep(100_000)
        }
        let response = try slow.readResponse()
        #expect(response.status == 408)
        #expect(slow.isClosedByServer())
        await server.stop()
    }

    @Test func stalledBodyGets408() async throws {
        let server = try TestServer(router: TestRoutes.make()) { $0.bodyReadTimeout = .seconds(1) }
        let client = try server.client()
        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(client.isClosedByServer())
        await server.stop()
    }

    /// A query that does not decode is refused, not read as empty (a cursor or a
    /// search of `%00%ff` used to be silently ignored).
    @Test func malformedQueryStringsGet400() async throws {
        let server = try TestServer(router: TestRoutes.make())
        let client = try server.client()
        for query in ["q=%00%ff", "q=%ff%fe", "q=%zz", "q=%00", "%ff=1", "q=%4"] {
            let response = try client.request("GET", "/params/a/x/b?\(query)")
            #expect(response.status == 400, "\(query)")
            #expect(response.bodyText.contains("malformed query string"))
        }
        #expect(try client.request("GET", "/params/a/x/b?q=ok%20fine+%C3%A9").bodyText == "a b ok fine é")
        await server.stop()
    }

    @Test func idleKeepAliveConnectionsAreClosed() async throws {
        let server = try TestServer(router: TestRoutes.make()) { $0.idleTimeout = .seconds(1) }
        let client = try server.client()
        #expect(try client.request("GET", "/healthz").status == 200)
        #expect(client.isClosedByServer(), "closed after the idle timeout")
        await server.stop()
    }

    @Test func garbageAndEarlyDisconnectsDoNotHurtTheServer() async throws {
        let server = try TestServer(router: TestRoutes.make())
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let client = try server.client(timeout: 2)
            let length = Int.random(in: 1...512, using: &generator)
            try? client.send((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
        for _ in 0..<50 {
            let client = try server.client()
            try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc")
        }
        let client = try server.client()
        #expect(try client.request("GET", "/healthz").status == 200)
        await server.stop()
    }
}
