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
        let connection = try Socket.connect(host: target.host, port: target.port, timeout: request.connectTimeout, describe: target.origin)
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

    public var description: String {
        switch self {
        case .invalidRequest(let text), .unreachable(let text), .timedOut(let text), .tls(let text), .malformedResponse(let text): text
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

/// One outbound connection (non-blocking socket, waits by poll; TLS optional).
final class Socket {
    let fd: Int32
    var ssl: OpaquePointer?
    var context: OpaquePointer?
    /// Reused by every read (a streamed answer reads once per token).
    private var buffer = [UInt8](repeating: 0, count: 16 * 1024)

    init(fd: Int32) { self.fd = fd }

    static func connect(host: String, port: Int, timeout: Double, describe origin: String) throws(HTTPClientError) -> Socket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .unreachable("\(origin): cannot resolve the host (\(String(cString: gai_strerror(status))))")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = ECONNREFUSED
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        let deadline = now() + timeout
        while let address = candidate {
            candidate = address.pointee.ai_next
            let fd = socket(
                address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                address.pointee.ai_protocol)
            guard fd >= 0 else { lastError = errno; continue }
            let result = Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen)
            if result == 0 { return Socket(fd: fd) }
            guard errno == EINPROGRESS else {
                lastError = errno
                Glibc.close(fd)
                continue
            }
            let ready = wait(fd, events: Int16(POLLOUT), until: deadline)
            if ready <= 0 {
                Glibc.close(fd)
                if ready == 0 { throw .timedOut("\(origin): no connection within \(format(timeout)) s") }
                lastError = errno
                continue
            }
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            if code == 0 {
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return Socket(fd: fd)
            }
            lastError = code
            Glibc.close(fd)
        }
        let reason = lastError == ECONNREFUSED ? "connection refused: is the endpoint running?" : String(cString: strerror(lastError))
        throw .unreachable("\(origin): \(reason)")
    }

    func startTLS(host: String, caFile: String?, timeout: Double, describe origin: String) throws(HTTPClientError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .tls("\(origin): cannot create a TLS context") }
        self.context = context
        _ = copenssl_ctx_set_min_tls12(context)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if let caFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw .tls("\(origin): cannot read the CA file \(caFile)")
            }
        } else {
            SSL_CTX_set_default_verify_paths(context)
        }
        guard let ssl = SSL_new(context) else { throw .tls("\(origin): cannot create a TLS session") }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        // The name (or address) the certificate must be for.
        var address = in6_addr()
        let isIP = host.withCString { inet_pton(AF_INET, $0, &address) == 1 || inet_pton(AF_INET6, $0, &address) == 1 }
        if isIP {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            _ = copenssl_set_sni(ssl, host)
            SSL_set1_host(ssl, host)
        }
        let deadline = Self.now() + timeout
        while true {
            let result = SSL_connect(ssl)
            if result == 1 { return }
            let error = SSL_get_error(ssl, result)
            if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE {
                let ready = Self.wait(fd, events: Int16(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), until: deadline)
                if ready == 0 { throw .timedOut("\(origin): TLS handshake not finished within \(Self.format(timeout)) s") }
                if ready < 0 { throw .tls("\(origin): TLS handshake failed") }
                continue
            }
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                throw .tls("\(origin): the certificate did not verify (\(String(cString: X509_verify_cert_error_string(verify))))")
            }
            throw .tls("\(origin): TLS handshake failed (\(OpenSSLErrors.last()))")
        }
    }

    func write(_ bytes: [UInt8], timeout: Double, describe origin: String) throws(HTTPClientError) {
        var offset = 0
        let deadline = Self.now() + timeout
        while offset < bytes.count {
            let written: Int = bytes.withUnsafeBytes { raw in
                let base = raw.baseAddress! + offset
                if let ssl { return Int(SSL_write(ssl, base, Int32(bytes.count - offset))) }
                return Glibc.send(fd, base, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                offset += written
                continue
            }
            let wantRead: Bool
            if let ssl {
                let error = SSL_get_error(ssl, Int32(written))
                guard error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ else {
                    throw .unreachable("\(origin): the connection broke while sending")
                }
                wantRead = error == SSL_ERROR_WANT_READ
            } else {
                guard errno == EAGAIN || errno == EINTR else {
                    throw .unreachable("\(origin): the connection broke while sending (\(String(cString: strerror(errno))))")
                }
                wantRead = false
            }
            if Self.wait(fd, events: Int16(wantRead ? POLLIN : POLLOUT), until: deadline) == 0 {
                throw .timedOut("\(origin): the request could not be sent within \(Self.format(timeout)) s")
            }
        }
    }

    /// What a read that must not wait found.
    enum Available {
        case bytes([UInt8])
        case wouldBlock
        case end
    }

    /// Reads what is there without waiting (for the stream loop).
    func readAvailable(describe origin: String) throws(HTTPClientError) -> Available {
        let count: Int = buffer.withUnsafeMutableBytes { raw in
            if let ssl { return Int(SSL_read(ssl, raw.baseAddress, Int32(raw.count))) }
            return Glibc.recv(fd, raw.baseAddress, raw.count, 0)
        }
        if count > 0 { return .bytes(Array(buffer.prefix(count))) }
        if let ssl {
            let error = SSL_get_error(ssl, Int32(count))
            if error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && count == 0) { return .end }
            guard error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE else {
                throw .unreachable("\(origin): the connection broke while reading")
            }
            return .wouldBlock
        }
        if count == 0 { return .end }
        guard errno == EAGAIN || errno == EINTR else {
            throw .unreachable("\(origin): the connection broke while reading (\(String(cString: strerror(errno))))")
        }
        return .wouldBlock
    }

    /// The next bytes, or nil at the end of the stream.
    func read(timeout: Double, describe origin: String) throws(HTTPClientError) -> [UInt8]? {
        while true {
            let count: Int = buffer.withUnsafeMutableBytes { raw in
                if let ssl { return Int(SSL_read(ssl, raw.baseAddress, Int32(raw.count))) }
                return Glibc.recv(fd, raw.baseAddress, raw.count, 0)
            }
            if count > 0 { return Array(buffer.prefix(count)) }
            var wantWrite = false
            if let ssl {
                let error = SSL_get_error(ssl, Int32(count))
                if error == SSL_ERROR_ZERO_RETURN { return nil }
                if error == SSL_ERROR_SYSCALL && count == 0 { return nil }
                guard error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE else {
                    throw .unreachable("\(origin): the connection broke while reading")
                }
                wantWrite = error == SSL_ERROR_WANT_WRITE
            } else {
                if count == 0 { return nil }
                guard errno == EAGAIN || errno == EINTR else {
                    throw .unreachable("\(origin): the connection broke while reading (\(String(cString: strerror(errno))))")
                }
            }
            if Self.wait(fd, events: Int16(wantWrite ? POLLOUT : POLLIN), until: Self.now() + timeout) == 0 {
                throw .timedOut("\(origin): no answer for \(Self.format(timeout)) s")
            }
        }
    }

    func close() {
        if let ssl { SSL_free(ssl) }
        if let context { SSL_CTX_free(context) }
        ssl = nil
        context = nil
        Glibc.close(fd)
    }

    /// poll() until `events` or the deadline: > 0 ready, 0 timed out, < 0 failed.
    static func wait(_ fd: Int32, events: Int16, until deadline: Double) -> Int32 {
        while true {
            let left = deadline - now()
            if left <= 0 { return 0 }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let result = poll(&entry, 1, Int32(min(left * 1000, 2_000_000_000)) + 1)
            if result < 0 && errno == EINTR { continue }
            return result
        }
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func format(_ seconds: Double) -> String { seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds) }
}

/// OpenSSL's most recent error on this thread, as text.
enum OpenSSLErrors {
    static func last() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        copenssl_last_error(&buffer, buffer.count)
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.isEmpty ? "unknown error" : text
    }
}
