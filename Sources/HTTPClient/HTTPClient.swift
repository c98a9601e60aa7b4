import CLinux
import COpenSSL
import Glibc

/// An outbound HTTP/1.1 client on plain sockets and OpenSSL, for calling model
/// endpoints: one request per connection (`Connection: close`), TLS 1.2+ with the
/// certificate verified against the system's roots (or a given CA file) and the
/// host name (or IP address) checked, a deadline to connect and a limit on how
/// long the server may stay silent, the body handed over as it arrives (chunked or
/// not) so a streamed answer is read token by token, and every failure one clear
/// ``HTTPClientError``. `send` and `fetch` block: run them on a thread of their
/// own, never on an event loop; ``StreamLoop`` reads many streamed answers on one
/// thread instead.
public enum HTTPClient {
    /// Where and how to send.
    public struct Request: Sendable {
        public var method = "POST"
        public var url: String
        public var headers: [(name: String, value: String)] = []
        public var body: [UInt8] = []
        /// Seconds to open the connection (and finish TLS).
        public var connectTimeout = 10.0
        /// Seconds the server may stay silent between bytes.
        public var idleTimeout = 60.0
        /// The largest response body read.
        public var maxBodyBytes = 64 * 1024 * 1024
        /// A PEM file of CA certificates to trust instead of the system's.
        public var caFile: String?
        /// Refuse to connect to loopback, private, link-local, carrier-grade NAT and
        /// unique-local addresses (``PrivateAddress``), whatever the name resolves to.
        public var refusePrivateAddresses = false

        public init(method: String = "POST", url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
            self.method = method
            self.url = url
            self.headers = headers
            self.body = body
        }
    }

    /// The answer's status line and headers (names lower-cased).
    public struct Head: Sendable {
        public var status: Int
        public var headers: [String: String]
    }

    /// Sends `request`; `head` is called once with the status and headers, `body`
    /// with each piece of the decoded body as it arrives (return false to stop
    /// reading). Throws ``HTTPClientError``.
    public static func send(
        _ request: Request, head: (Head) throws -> Void, body: ([UInt8]) throws -> Bool
    ) throws {
        let (connection, target) = try open(request)
        defer { connection.close() }
        var reader = ResponseReader(origin: target.origin, maxBodyBytes: request.maxBodyBytes)
        while true {
            guard let bytes = try connection.read(timeout: request.idleTimeout, describe: target.origin) else {
                try reader.atEnd()
                return
            }
            if try reader.feed(bytes, onHead: head, onBody: body) == .done { return }
        }
    }

    /// Connects (and finishes TLS) within the connect timeout and sends the request.
    static func open(_ request: Request) throws(HTTPClientError) -> (Socket, Target) {
        let target = try Target(request.url)
        let connection = try Socket.connect(
            host: target.host, port: target.port, timeout: request.connectTimeout, refusePrivate: request.refusePrivateAddresses,
            describe: target.origin)
        do throws(HTTPClientError) {
            if target.secure {
                try connection.startTLS(host: target.host, caFile: request.caFile, timeout: request.connectTimeout, describe: target.origin)
            }
            var text = "\(request.method) \(target.path) HTTP/1.1\r\nHost: \(target.hostHeader)\r\nConnection: close\r\n"
            for (name, value) in request.headers {
                guard !name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == ":" }), !value.contains(where: { $0 == "\r" || $0 == "\n" })
                else {
                    throw HTTPClientError.invalidRequest("header \(name): line breaks are not allowed")
                }
                text += "\(name): \(value)\r\n"
            }
            if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
                text += "Content-Length: \(request.body.count)\r\n"
            }
            text += "\r\n"
            try connection.write(Array(text.utf8) + request.body, timeout: request.idleTimeout, describe: target.origin)
        } catch {
            connection.close()
            throw error
        }
        return (connection, target)
    }

    /// Sends `request` and returns the whole answer.
    public static func fetch(_ request: Request) throws -> (head: Head, body: [UInt8]) {
        var result: Head?
        var collected: [UInt8] = []
        try send(
            request, head: { result = $0 },
            body: {
                collected += $0; return true
            })
        return (result!, collected)
    }

    /// Checks that `url` is an `http://` or `https://` URL this client can send to.
    public static func check(url: String) throws(HTTPClientError) { _ = try Target(url) }

    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    static func parseHead(_ bytes: [UInt8], describe origin: String) throws(HTTPClientError) -> Head {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = lines.first?.split(separator: " ", maxSplits: 2) ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]), (100...599).contains(status)
        else {
            throw .malformedResponse("\(origin) did not answer with an HTTP/1.1 status line")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw .malformedResponse("\(origin) sent a header line without a colon") }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...]).trimmingSpaces
        }
        return Head(status: status, headers: headers)
    }

    /// A parsed `http(s)://host[:port]/path` URL.
    struct Target {
        var secure: Bool
        var host: String
        var port: Int
        var path: String

        var origin: String { "\(secure ? "https" : "http")://\(hostHeader)" }
        var hostHeader: String {
            let shown = host.contains(":") ? "[\(host)]" : host
            return (secure && port == 443) || (!secure && port == 80) ? shown : "\(shown):\(port)"
        }

        init(_ url: String) throws(HTTPClientError) {
            let lower = url.lowercased()
            if lower.hasPrefix("https://") {
                secure = true
            } else if lower.hasPrefix("http://") {
                secure = false
            } else {
                throw .invalidRequest("\(url): expected an http:// or https:// URL")
            }
            let rest = url.dropFirst(secure ? 8 : 7)
            let authority = rest.prefix { $0 != "/" && $0 != "?" }
            path = String(rest.dropFirst(authority.count))
            if path.isEmpty { path = "/" } else if path.first == "?" { path = "/" + path }
            guard !authority.contains("@") else { throw .invalidRequest("\(url): credentials in the URL are not allowed (use a header)") }
            var hostPart = Substring(authority)
            var portPart: Substring?
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { throw .invalidRequest("\(url): unclosed [ in the host") }
                hostPart = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if after.hasPrefix(":") { portPart = after.dropFirst() }
            } else if let colon = authority.lastIndex(of: ":") {
                hostPart = authority[..<colon]
                portPart = authority[authority.index(after: colon)...]
            }
            guard !hostPart.isEmpty else { throw .invalidRequest("\(url): no host") }
            host = String(hostPart)
            if let portPart {
                guard let number = Int(portPart), (1...65535).contains(number) else {
                    throw .invalidRequest("\(url): the port must be 1 to 65535")
                }
                port = number
            } else {
                port = secure ? 443 : 80
            }
            guard !path.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else {
                throw .invalidRequest("\(url): spaces or line breaks in the path")
            }
        }
    }
}

/// Why an outbound request failed, said for a person.
public enum HTTPClientError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The URL or a header is not usable.
    case invalidRequest(String)
    /// No connection: refused, unreachable, no such host.
    case unreachable(String)
    /// The connection or the answer took longer than allowed.
    case timedOut(String)
    /// TLS failed: the certificate did not verify, or the handshake broke.
    case tls(String)
    /// The answer is not HTTP/1.1 as expected.
    case malformedResponse(String)
    /// The address is one this request may not reach (``Request/refusePrivateAddresses``).
    case refused(String)

    public var description: String {
        switch self {
        case .invalidRequest(let text), .unreachable(let text), .timedOut(let text), .tls(let text), .malformedResponse(let text),
            .refused(let text):
            text
        }
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " || slice.first == "\t" { slice = slice.dropFirst() }
        while slice.last == " " || slice.last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
