/// The parsed head of a request (request line and header fields) with its framing.
struct RequestHead: Sendable {
    var method: HTTPMethod
    var target: String
    var version: HTTPVersion
    var headers: HTTPHeaders
    /// How the body is framed (RFC 9112 §6.3).
    var framing: BodyFraming
    /// The client sent `Expect: 100-continue`.
    var expectsContinue: Bool
    /// The client wants the connection kept open.
    var keepAlive: Bool
}

/// How a request body is delimited.
enum BodyFraming: Equatable, Sendable {
    case none
    case contentLength(Int)
    case chunked
}

/// Limits the parser enforces; a subset of ``Server/Configuration``.
struct ParserLimits: Sendable {
    var maxRequestLineBytes: Int
    var maxHeaderBytes: Int
    var maxHeaderFields: Int
}

/// A strict HTTP/1.1 request-head parser (RFC 9112). It is not incremental: the
/// connection first finds the end of the head with ``HeadScanner`` and then parses
/// the whole head at once. Anything ambiguous — bare LF, obs-fold, whitespace before
/// a colon, conflicting `Content-Length`, `Content-Length` with `Transfer-Encoding` —
/// is rejected, because two parsers that disagree on framing is how requests are
/// smuggled.
enum HTTPParser {
    /// Parses a complete head: `bytes` ends with the `CRLF CRLF` terminator.
    static func parseHead(_ bytes: UnsafeBufferPointer<UInt8>, limits: ParserLimits) throws(HTTPError) -> RequestHead {
        var position = 0
        let end = bytes.count
        // > In the interest of robustness, a server that is expecting to receive and
        // > parse a request-line SHOULD ignore at least one empty line (CRLF) received
        // > prior to the request-line. (RFC 9112 §2.2)
        while position + 1 < end && bytes[position] == 0x0D && bytes[position + 1] == 0x0A { position += 2 }

        // request-line = method SP request-target SP HTTP-version CRLF
        let methodStart = position
        while position < end && isTokenByte(bytes[position]) { position += 1 }
        guard position > methodStart, position < end, bytes[position] == 0x20 else {
            throw malformed("malformed request line")
        }
        let method = HTTPMethod.parse(UnsafeBufferPointer(rebasing: bytes[methodStart..<position]))
        position += 1

        let targetStart = position
        while position < end && bytes[position] > 0x20 && bytes[position] < 0x7F { position += 1 }
        guard position > targetStart, position < end, bytes[position] == 0x20 else {
            throw malformed("malformed request target")
        }
        let targetEnd = position
        position += 1

        // HTTP-version = "HTTP/" DIGIT "." DIGIT
        guard position + 10 <= end,
            bytes[position] == 0x48, bytes[position + 1] == 0x54, bytes[position + 2] == 0x54,
            bytes[position + 3] == 0x50, bytes[position + 4] == 0x2F,
            isDigit(bytes[position + 5]), bytes[position + 6] == 0x2E, isDigit(bytes[position + 7]),
            bytes[position + 8] == 0x0D, bytes[position + 9] == 0x0A
        else { throw malformed("malformed HTTP version") }
        let version = HTTPVersion(major: Int(bytes[position + 5] - 0x30), minor: Int(bytes[position + 7] - 0x30))
        guard version.major == 1, version.minor <= 1 else {
            throw HTTPError(
                .httpVersionNotSupported, code: "http_version_not_supported", message: "only HTTP/1.0 and HTTP/1.1 are supported")
        }
        position += 10
        if position - methodStart > limits.maxRequestLineBytes {
            throw HTTPError(.uriTooLong, code: "uri_too_long", message: "request line longer than \(limits.maxRequestLineBytes) bytes")
        }
        let target = try normalizedTarget(UnsafeBufferPointer(rebasing: bytes[targetStart..<targetEnd]), method: method)

        // *( field-line CRLF ) CRLF
        var fields: [(name: String, value: String)] = []
        fields.reserveCapacity(8)
        var contentLength: Int?
        var transferEncoding: String?
        var hostCount = 0
        var expectsContinue = false
        var connection: String?
        while true {
            guard position + 1 < end else { throw malformed("truncated header section") }
            if bytes[position] == 0x0D {
                guard bytes[position + 1] == 0x0A else { throw malformed("bare CR in header section") }
                position += 2
                break
            }
            // > A server that receives an obs-fold in a request message ... MUST either
            // > reject the message by sending a 400 (Bad Request) ... (RFC 9112 §5.2)
            if bytes[position] == 0x20 || bytes[position] == 0x09 {
                throw malformed("obsolete line folding is not allowed")
            }
            let nameStart = position
            while position < end && isTokenByte(bytes[position]) { position += 1 }
            // > No whitespace is allowed between the field name and colon. (RFC 9112 §5.1)
            guard position > nameStart, position < end, bytes[position] == 0x3A else {
                throw malformed("malformed header field")
            }
            let nameEnd = position
            position += 1
            while position < end && (bytes[position] == 0x20 || bytes[position] == 0x09) { position += 1 }
            let valueStart = position
            var valueEnd = position
            while position < end {
                let byte = bytes[position]
                if byte == 0x0D { break }
                // field-vchar / SP / HTAB / obs-text; CTLs (NUL, bare LF, ...) are refused.
                if byte < 0x20 && byte != 0x09 || byte == 0x7F { throw malformed("invalid character in header value") }
                position += 1
                if byte != 0x20 && byte != 0x09 { valueEnd = position }
            }
            guard position + 1 < end, bytes[position + 1] == 0x0A else { throw malformed("header line not ended by CRLF") }
            position += 2

            if fields.count == limits.maxHeaderFields {
                throw HTTPError(
                    .requestHeaderFieldsTooLarge, code: "too_many_headers", message: "more than \(limits.maxHeaderFields) header fields")
            }
            let name = lowercasedString(UnsafeBufferPointer(rebasing: bytes[nameStart..<nameEnd]))
            let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[valueStart..<valueEnd]), as: UTF8.self)
            switch name {
            case "content-length":
                // > If a message is received without Transfer-Encoding and with an invalid
                // > Content-Length header field, then the message framing is invalid and
                // > the recipient MUST treat it as an unrecoverable error. (RFC 9112 §6.3)
                for item in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let length = try parseContentLength(item.trimmingSpaces())
                    if let contentLength, contentLength != length { throw malformed("conflicting Content-Length values") }
                    contentLength = length
                }
            case "transfer-encoding":
                if transferEncoding != nil { throw malformed("repeated Transfer-Encoding") }
                transferEncoding = value
            case "host":
                hostCount += 1
            case "expect":
                if HTTPHeaders.same(value, "100-continue") {
                    expectsContinue = true
                } else {
                    throw HTTPError(.expectationFailed, code: "expectation_failed", message: "unsupported expectation")
                }
            case "connection":
                connection = connection.map { $0 + "," + value } ?? value
            default:
                break
            }
            fields.append((name: name, value: value))
        }

        // > A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
        // > request message that lacks a Host header field and to any request message
        // > that contains more than one Host header field line. (RFC 9112 §3.2)
        if hostCount > 1 || (hostCount == 0 && version == .http1_1) {
            throw malformed(hostCount > 1 ? "more than one Host header" : "missing Host header")
        }

        var framing = BodyFraming.none
        if let transferEncoding {
            if contentLength != nil { throw malformed("both Content-Length and Transfer-Encoding") }
            if version == .http1_0 { throw malformed("Transfer-Encoding in an HTTP/1.0 request") }
            guard HTTPHeaders.same(String(Substring(transferEncoding).trimmingSpaces()), "chunked") else {
                throw HTTPError(
                    .notImplemented, code: "unsupported_transfer_encoding", message: "only chunked transfer coding is supported")
            }
            framing = .chunked
        } else if let contentLength, contentLength > 0 {
            framing = .contentLength(contentLength)
        }

        let keepAlive: Bool
        if version == .http1_1 {
            keepAlive = connection.map { !Request.listContains($0, "close") } ?? true
        } else {
            keepAlive = connection.map { Request.listContains($0, "keep-alive") } ?? false
        }

        return RequestHead(
            method: method, target: target, version: version,
            headers: HTTPHeaders(lowercasedFields: fields), framing: framing,
            expectsContinue: expectsContinue && version == .http1_1, keepAlive: keepAlive
        )
    }

    /// origin-form (`/path?q`), absolute-form (`http://host/path`, reduced to its path)
    /// or asterisk-form for OPTIONS. (RFC 9112 §3.2)
    static func normalizedTarget(_ bytes: UnsafeBufferPointer<UInt8>, method: HTTPMethod) throws(HTTPError) -> String {
        if bytes[0] == UInt8(ascii: "/") {
            return String(decoding: bytes, as: UTF8.self)
        }
        if bytes.count == 1 && bytes[0] == UInt8(ascii: "*") && method == .OPTIONS { return "*" }
        let text = String(decoding: bytes, as: UTF8.self)
        for scheme in ["http://", "https://"] where text.count > scheme.count && text.lowercased().hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
            let path = rest[slash...]
            return path.first == "?" ? "/" + path : String(path)
        }
        throw malformed("malformed request target")
    }

    static func parseContentLength(_ text: Substring) throws(HTTPError) -> Int {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= 18, utf8.allSatisfy(isDigit) else {
            throw malformed("invalid Content-Length")
        }
        var value = 0
        for digit in utf8 { value = value * 10 + Int(digit - 0x30) }
        return value
    }

    static func malformed(_ message: String) -> HTTPError {
        HTTPError(.badRequest, code: "bad_request", message: message)
    }

    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// tchar (RFC 9110 §5.6.2).
    @inline(__always) static func isTokenByte(_ byte: UInt8) -> Bool { tokenTable[Int(byte)] }

    private static let tokenTable: [Bool] = (0..<256).map { value in
        let byte = UInt8(value)
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func lowercasedString(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        if !bytes.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) { return String(decoding: bytes, as: UTF8.self) }
        return String(unsafeUninitializedCapacity: bytes.count) { out in
            for (index, byte) in bytes.enumerated() { out[index] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
            return bytes.count
        }
    }
}

/// Finds the end of a request head in bytes that arrive piece by piece, without
/// rescanning what it has seen, and enforces the size limits while it looks.
struct HeadScanner: Sendable {
    /// How far the buffer has been scanned.
    private(set) var scanned = 0
    private var requestLineEnd: Int?

    enum Outcome: Equatable {
        case needMore
        /// The head is `bytes[0..<length]`.
        case complete(length: Int)
    }

    mutating func reset() {
        scanned = 0
        requestLineEnd = nil
    }

    /// Scans `bytes` (all bytes of the current head so far, from its start; the
    /// connection has already dropped empty lines before the request line).
    mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>, limits: ParserLimits) throws(HTTPError) -> Outcome {
        var index = scanned
        let count = bytes.count
        while index < count {
            if bytes[index] == 0x0A {
                guard index > 0, bytes[index - 1] == 0x0D else {
                    throw HTTPParser.malformed("bare LF in request head")
                }
                if requestLineEnd == nil {
                    requestLineEnd = index
                    if index + 1 > limits.maxRequestLineBytes {
                        throw HTTPError(
                            .uriTooLong, code: "uri_too_long", message: "request line longer than \(limits.maxRequestLineBytes) bytes")
                    }
                } else if bytes[index - 2] == 0x0A {
                    scanned = index + 1
                    if index + 1 > limits.maxHeaderBytes { throw Self.headersTooLarge(limits) }
                    return .complete(length: index + 1)
                }
            }
            index += 1
        }
        scanned = count
        if requestLineEnd == nil && count > limits.maxRequestLineBytes {
            throw HTTPError(.uriTooLong, code: "uri_too_long", message: "request line longer than \(limits.maxRequestLineBytes) bytes")
        }
        if count > limits.maxHeaderBytes { throw Self.headersTooLarge(limits) }
        return .needMore
    }

    private static func headersTooLarge(_ limits: ParserLimits) -> HTTPError {
        HTTPError(
            .requestHeaderFieldsTooLarge, code: "headers_too_large", message: "request head larger than \(limits.maxHeaderBytes) bytes")
    }
}
