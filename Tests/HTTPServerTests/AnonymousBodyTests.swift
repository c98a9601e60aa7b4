import Glibc
import HTTPServer
import Testing
import TestSupport

/// What a caller nobody has checked may make the server read: nothing for a
/// request no route takes, 64 KiB for a route without an admission check, and no
/// time bought by declaring a size it does not send.
@Suite struct AnonymousBodyTests {
    /// `/nonexistent`, a wrong method, a malformed path: answered at once, before a
    /// byte of the declared 32 MiB is read, never with `100 Continue`, then closed.
    @Test func aRequestNoRouteTakesIsAnsweredWithoutReadingItsBody() async throws {
        let server = try TestServer(router: TestRoutes.make())
        for (head, status) in [
            ("POST /nonexistent", 404), ("PUT /echo", 405), ("POST /healthz", 405), ("POST /%zz", 400),
        ] {
            let client = try server.client(timeout: 5)
            try client.send("\(head) HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 33554432\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == status, "\(head)")
            #expect(response.header("connection") == "close", "\(head)")
            #expect(client.isClosedByServer(), "\(head): closed, the unread body is not taken")
        }
        // A chunked body on an unknown path: the same.
        let chunked = try server.client(timeout: 5)
        try chunked.send("POST /nonexistent HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n")
        #expect(try chunked.readResponse().status == 404)
        #expect(chunked.isClosedByServer())
        // Bodiless requests to unknown paths keep their connection as before.
        let plain = try server.client()
        #expect(try plain.request("GET", "/nonexistent").status == 404)
        #expect(try plain.request("GET", "/healthz").status == 200)
        await server.stop()
    }

    /// An inline route (health, pages) takes no body; a route without an
    /// admission check takes the anonymous limit; a checked route the large one.
    @Test func eachKindOfRouteHasItsBodyLimit() async throws {
        let server = try TestServer(router: TestRoutes.make())
        let client = try server.client(timeout: 5)
        try client.send("GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n")
        #expect(try client.readResponse().status == 413)

        let anonymous = try server.client(timeout: 5)
        try anonymous.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: \(64 * 1024 + 1)\r\n\r\n")
        let refused = try anonymous.readResponse()
        #expect(refused.status == 413, "no 100 Continue for a body over the anonymous limit")
        #expect(try server.client().request("POST", "/echo", body: [UInt8](repeating: 0x61, count: 64 * 1024)).status == 200)

        // The checked route: a stranger is refused on the head, the caller may send 1 MB.
        let stranger = try server.client(timeout: 5)
        try stranger.send("POST /private/upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n")
        #expect(try stranger.readResponse().status == 401)
        let caller = try server.client()
        let big = [UInt8](repeating: 0x61, count: 1_000_000)
        let accepted = try caller.request("POST", "/private/upload", headers: ["Authorization": "Bearer ok"], body: big)
        #expect(accepted.status == 200 && accepted.bodyText == "1000000")
        await server.stop()
    }

    /// A 32 MiB declaration used to buy 512 s at 64 KiB/s; now the body must keep
    /// pace after the grace, whatever it declared.
    @Test func aDeclaredSizeBuysNoTime() async throws {
        let server = try TestServer(router: TestRoutes.make()) {
            $0.bodyReadTimeout = .seconds(1)
            $0.maxBodyBytes = 32 * 1024 * 1024
        }
        let client = try server.client(timeout: 20)
        try client.send("POST /private/upload HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ok\r\nContent-Length: 33554432\r\n\r\n")
        var sent = 0
        while sent < 100 && !client.hasPendingData() {
            try? client.send("x")
            sent += 1
            usleep(200_000)
        }
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(sent < 25, "cut after about the grace, not after the declared size's 512 s (\(sent) bytes sent)")
        await server.stop()
    }

    /// A chunked body gets the same grace as any other (it used to get two).
    @Test func aSlowChunkedBodyIsCutAfterTheGrace() async throws {
        let server = try TestServer(router: TestRoutes.make()) {
            $0.bodyReadTimeout = .seconds(2)
            $0.minBodyBytesPerSecond = 1_000_000
        }
        let client = try server.client(timeout: 20)
        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        var sent = 0
        while sent < 100 && !client.hasPendingData() {
            try? client.send("1\r\nx\r\n")
            sent += 1
            usleep(100_000)
        }
        #expect(try client.readResponse().status == 408)
        #expect(sent < 35, "cut after about 2 s, not 4 s (\(sent) chunks sent, one per 100 ms)")
        await server.stop()
    }
}
