@testable import HTTPServer
import Testing

/// Wire-level tests of the request-head parser: raw `\r\n` text, including the
/// hostile cases that smuggle requests past proxies.
@Suite struct HTTPParserTests {
    static let limits = ParserLimits(maxRequestLineBytes: 8 * 1024, maxHeaderBytes: 64 * 1024, maxHeaderFields: 100)

    enum Outcome: Equatable {
        case head(RequestHead.Summary)
        case incomplete
        case error(Int)
    }

    /// Scans then parses like a connection does.
    func parse(_ text: String, limits: ParserLimits = limits) -> Outcome {
        let bytes = Array(text.utf8)
        var scanner = HeadScanner()
        do {
            let outcome = try bytes.withUnsafeBufferPointer { buffer throws(HTTPError) in try scanner.scan(buffer, limits: limits) }
            guard case .complete(let length) = outcome else { return .incomplete }
            let head = try bytes.withUnsafeBufferPointer { buffer throws(HTTPError) in
                try HTTPParser.parseHead(UnsafeBufferPointer(rebasing: buffer[..<length]), limits: limits)
            }
            return .head(head.summary)
        } catch {
            return .error(error.status.code)
        }
    }

    func head(_ text: String) throws -> RequestHead.Summary {
        guard case .head(let summary) = parse(text) else {
            Issue.record("expected a head, got \(parse(text))")
            throw HTTPError(.badRequest, code: "x", message: "x")
        }
        return summary
    }

    @Test func simpleGet() throws {
        let summary = try head("GET /healthz?x=1 HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n")
        #expect(summary.method == "GET")
        #expect(summary.target == "/healthz?x=1")
        #expect(summary.framing == .none)
        #expect(summary.keepAlive)
        #expect(summary.headers == ["host: example", "accept: */*"])
    }

    @Test func headerNamesAreLowercasedAndValuesTrimmed() throws {
        let summary = try head("GET / HTTP/1.1\r\nHOST: a\r\nX-Thing: \t value with  spaces \t\r\n\r\n")
        #expect(summary.headers == ["host: a", "x-thing: value with  spaces"])
    }

    @Test func contentLengthAndChunkedFraming() throws {
        #expect(try head("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n").framing == .contentLength(42))
        #expect(try head("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").framing == .none)
        #expect(try head("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n").framing == .chunked)
        // Identical repeated values are one value (RFC 9110 §8.6).
        #expect(try head("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").framing == .contentLength(5))
        #expect(try head("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n").framing == .contentLength(5))
    }

    @Test func keepAliveRules() throws {
        #expect(try head("GET / HTTP/1.1\r\nHost: a\r\n\r\n").keepAlive)
        #expect(try !head("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keepAlive)
        #expect(try !head("GET / HTTP/1.0\r\n\r\n").keepAlive)
        #expect(try head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive)
        #expect(try head("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, keep-alive\r\n\r\n").keepAlive)
    }

    @Test func absoluteFormBecomesAPath() throws {
        #expect(try head("GET http://example.com/a/b?c HTTP/1.1\r\nHost: example.com\r\n\r\n").target == "/a/b?c")
        #expect(try head("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n").target == "/")
        #expect(try head("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").target == "*")
    }

    @Test func expectContinue() throws {
        #expect(try head("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n").expectsContinue)
        #expect(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\n\r\n") == .error(417))
    }

    @Test func incompleteHeadsWait() {
        #expect(parse("GET / HTTP/1.1\r\nHost: a\r\n") == .incomplete)
        #expect(parse("GET / HTTP/1.1\r\nHost: a\r\n\r") == .incomplete)
        #expect(parse("GET / HTT") == .incomplete)
    }

    @Test(arguments: [
        // Request smuggling: two framings, or framings two parsers read differently.
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 501),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        // Whitespace between name and colon (RFC 9112 §5.1).
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400),
        // obs-fold.
        ("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n  continued\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tcontinued\r\n\r\n", 400),
        // Bare LF and bare CR.
        ("GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\n\n", 400),
        ("GET / HTTP/1.1\r\nX: a\rb\r\nHost: a\r\n\r\n", 400),
        // Control characters in a value; NUL.
        ("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{7f}b\r\n\r\n", 400),
        // Malformed request lines.
        ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),
        ("GET /\u{0}x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET foo HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400),
        ("GET / http/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        ("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
        // Host rules (RFC 9112 §3.2).
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        // Header names must be tokens.
        ("GET / HTTP/1.1\r\nHost: a\r\nX Y: z\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\n: z\r\n\r\n", 400),
    ])
    func hostileHeadsAreRefused(text: String, status: Int) {
        #expect(parse(text) == .error(status), "\(text.debugDescription)")
    }

    @Test func requestLineLimitGives414() {
        let long = "GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: a\r\n\r\n"
        #expect(parse(long) == .error(414))
        // Also while the line is still arriving.
        #expect(parse("GET /" + String(repeating: "a", count: 9000)) == .error(414))
    }

    @Test func headerLimitsGive431() {
        var many = "GET / HTTP/1.1\r\nHost: a\r\n"
        for index in 0..<100 { many += "X-\(index): v\r\n" }
        #expect(parse(many + "\r\n") == .error(431))
        let big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 70 * 1024) + "\r\n\r\n"
        #expect(parse(big) == .error(431))
        // Still arriving, already too large.
        #expect(parse("GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 70 * 1024)) == .error(431))
    }

    @Test func obsTextInValuesIsKept() throws {
        let summary = try head("GET / HTTP/1.1\r\nHost: a\r\nX-Name: Zoë\r\n\r\n")
        #expect(summary.headers.last == "x-name: Zoë")
    }

    @Test func scannerResumesWithoutRescanning() throws {
        let text = Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        var scanner = HeadScanner()
        var outcome = HeadScanner.Outcome.needMore
        for end in 1...text.count {
            outcome = try text.withUnsafeBufferPointer { buffer throws(HTTPError) in
                try scanner.scan(UnsafeBufferPointer(rebasing: buffer[..<end]), limits: Self.limits)
            }
            if end < text.count { #expect(outcome == .needMore) }
        }
        #expect(outcome == .complete(length: text.count))
    }
}

extension RequestHead {
    /// An Equatable digest for assertions.
    struct Summary: Equatable {
        var method: String
        var target: String
        var framing: BodyFraming
        var keepAlive: Bool
        var expectsContinue: Bool
        var headers: [String]
    }

    var summary: Summary {
        Summary(
            method: method.rawValue, target: target, framing: framing, keepAlive: keepAlive,
            expectsContinue: expectsContinue, headers: headers.map { "\($0.name): \($0.value)" }
        )
    }
}
