import Glibc
import HTTPServer
import Testing
import TestSupport

/// End-to-end: a real server on port 0, real sockets, raw HTTP.
@Suite struct ServerTests {
    @Test func healthzAndKeepAlive() async throws {
        let server = try TestServer(router: TestRoutes.make())
        let client = try server.client()
        for _ in 0..<100 {
            let response = try client.request("GET", "/healthz")
            #expect(response.status == 200)
            #expect(response.bodyText == #"{"status":"ok"}"#)
            #expect(response.header("content-type") == "application/json")
            #expect(response.header("date") != nil)
            #expect(response.header("connection") == nil)
        }
        await server.stop()
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let server = try TestServer(router: TestRoutes.make())
        let client = try server.client()
        // A slow async request first, then a fast inline one, then another async one.
        try client.send(
            "GET /sleep/200 HTTP/1.1\r\nHost: a\r\n\r\n"
                + "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
                + "GET /params/p/x/q%20r?q=s HTTP/1.1\r\nHost: a\r\n\r\n"
                + "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
                + "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        )
        #expect(try client.readResponse().bodyText == "slept 200")
        #expect(try client.readResponse().bodyText == #"{"status":"ok"}"#)
        #expect(try client.readResponse().bodyText == "p q r s")
        #expect(try client.readResponse().bodyText == "hello")
        let last = try client.readResponse()
        #expect(last.header("connection") == "close")
        #expect(client.isClosedByServer())
        await server.stop()
    }

    @Test func chunkedUploadArrivingInPieces() async throws {
        let server = try TestServer(router: TestRoutes.make())
        let client = try server.client()
        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in ["5\r\nhel", "lo\r\n", "6;ext=1\r\n world\r\n", "0\r\n", "Trailer: x\r\n", "\r\n"] {
            try client.send(piece)
            usleep(10_000)
        }
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.bodyText == "hello world")
        #expect(try client.request("GET", "/healthz").status == 200, "connection still usable")
        await server.stop()
    }

    @Test func expectContinue() async throws {
        let server = try TestServer(router: TestRoutes.make())
        let client = try server.client()
        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        let interim = try client.readResponse()
        #expect(interim.status == 100)
        try client.send("ping")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.bodyText == "ping")
        await server.stop()
    }

    @Test func http10ClosesUnlessAskedToKeepAlive() async throws {
        let server = try TestServer(router: TestRoutes.make())
        let plain = try server.client()
        try plain.send("GET /healthz HTTP/1.0\r\n\r\n")
        let first = try plain.readResponse()
        #expect(first.status == 200)
        #expect(first.header("connection") == "close")
        #expect(plain.isClosedByServer())

        let keeping = try server.client()
        for _ in 0..<3 {
            try keeping.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let response = try keeping.readResponse()
            #expect(response.status == 200)
            #expect(response.header("connection") == "keep-alive")
        }
        await server.stop()
    }

    @Test func headHasLengthButNoBody() async throws {
        let server = try TestServer(router: TestRoutes.make())
        let client = try server.client()
        let head = try client.request("HEAD", "/healthz")
        #expect(head.status == 200)
        #expect(head.header("content-length") == "15")
        #expect(head.body.isEmpty)
        #expect(try client.request("GET", "/healthz").bodyText == #"{"status":"ok"}"#, "no stray body bytes")
        await server.stop()
    }

    @Test func errorsAreJSON() async throws {
        let server = try TestServer(router: TestRoutes.make())
        let client = try server.client()
        let missing = try client.request("GET", "/nope")
        #expect(missing.status == 404)
        #expect(missing.header("content-type") == "application/json")
        #expect(missing.bodyText.hasPrefix(#"{"error":{"code":"not_found","message":"#))

        let wrongMethod = try client.request("DELETE", "/healthz")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("allow") == "GET, HEAD")

        let crashed = try client.request("GET", "/fail")
        #expect(crashed.status == 500)
        #expect(crashed.bodyText == #"{"error":{"code":"internal_error","message":"internal server error"}}"#)

        let conflict = try client.request("GET", "/conflict")
        #expect(conflict.status == 409)
        #expect(conflict.bodyText == #"{"error":{"code":"lease_expired","message":"the \"lease\" expired"}}"#)
        #expect(try client.request("GET", "/healthz").status == 200, "errors keep the connection")
        await server.stop()
    }

    @Test func streamedResponseIsChunked() async throws {
        let server = try TestServer(router: TestRoutes.make())
        let client = try server.client()
        let response = try client.request("GET", "/stream/100000")
        #expect(response.status == 200)
        #expect(response.header("transfer-encoding") == "chunked")
        let lines = response.bodyText.split(separator: "\n")
        #expect(lines.count == 100_000)
        #expect(lines.last == "line 99999")
        #expect(try client.request("GET", "/healthz").status == 200, "keep-alive after a stream")
        await server.stop()
    }

    @Test func failedStreamCutsTheConnection() async throws {
        let server = try TestServer(router: TestRoutes.make())
        let client = try server.client()
        try client.send("GET /stream-fails HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(throws: RawClient.ClientError.self) { try client.readResponse() }
        await server.stop()
    }

    @Test func staticFilesOverTheWire() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        directory.write("index.html", "<p>hi</p>")
        let server = try TestServer(router: TestRoutes.make(publicDirectory: directory.path))
        let client = try server.client()
        let page = try client.request("GET", "/")
        #expect(page.bodyText == "<p>hi</p>")
        let etag = try #require(page.header("etag"))
        let again = try client.request("GET", "/index.html", headers: ["If-None-Match": etag])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        #expect(try client.request("GET", "/%2e%2e/%2e%2e/etc/passwd").status == 404)
        #expect(try client.request("GET", "/../../etc/passwd").status == 404)
        await server.stop()
    }

    @Test func halfClosedClientStillGetsItsAnswer() async throws {
        let server = try TestServer(router: TestRoutes.make())
        let client = try server.client()
        try client.send("GET /sleep/50 HTTP/1.1\r\nHost: a\r\n\r\n")
        client.shutdownWrite()
        #expect(try client.readResponse().bodyText == "slept 50")
        #expect(client.isClosedByServer())
        await server.stop()
    }

    @Test func requestAndFinInOneReadStillGetTheWholeAnswer() async throws {
        // Regression: the response was queued, end of input was seen in the same
        // read loop, and with edge-triggered EPOLLOUT nothing ever flushed it; the
        // connection sat in CLOSE-WAIT holding a slot.
        let server = try TestServer(router: TestRoutes.make())
        for _ in 0..<20 {
            let client = try server.client()
            try client.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
            client.shutdownWrite()
            let response = try client.readResponse()
            #expect(response.body.count == 1 << 20)
            #expect(client.isClosedByServer())
        }
        for _ in 0..<50 where server.server.openConnections > 0 { usleep(20_000) }
        #expect(server.server.openConnections == 0, "no connection left behind")
        await server.stop()
    }
}
