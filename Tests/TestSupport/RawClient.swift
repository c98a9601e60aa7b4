import CLinux
import Glibc
import HTTPServer

/// A blocking HTTP/1.1 client over a plain socket that sends exactly the bytes a
/// test gives it, so tests can speak hostile or unusual wire text.
public final class RawClient {
    public let fd: Int32

    /// A response as read off the wire.
    public struct Response: CustomStringConvertible {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        public var bodyText: String { String(decoding: body, as: UTF8.self) }
        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
        public var description: String { "\(status) \(headers) \(bodyText.prefix(200))" }
    }

    public struct ClientError: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    private var buffer: [UInt8] = []

    /// Connects to `127.0.0.1:port`; reads time out after `timeout` seconds.
    public init(port: Int, timeout: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ClientError("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // Not closed here: the object is whole, so deinit closes it (closing twice
        // could close another thread's newly opened descriptor).
        guard result == 0 else { throw ClientError("connect: errno \(errno)") }
        setTimeout(seconds: timeout)
    }

    deinit { Glibc.close(fd) }

    /// Sets the receive timeout.
    public func setTimeout(seconds: Int) {
        var value = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends text as-is (write your own `\r\n`).
    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Sends bytes as-is.
    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ClientError("send: errno \(errno)")
            }
            offset += n
        }
    }

    /// Half-closes: no more bytes from us.
    public func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return true
            }
            if n == 0 { return false }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw ClientError("timed out waiting for the server") }
            if errno == ECONNRESET { return false }
            throw ClientError("recv: errno \(errno)")
        }
    }

    private func readLine() throws -> String? {
        while true {
            if let index = buffer.firstIndex(of: 0x0A) {
                let line = buffer[..<index]
                buffer.removeFirst(index + 1)
                return String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
            }
            guard try fill() else { return nil }
        }
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill() else { throw ClientError("connection closed mid-body") }
        }
        let bytes = Array(buffer[..<count])
        buffer.removeFirst(count)
        return bytes
    }

    /// Reads one response. `forHead` means no body follows (a HEAD request).
    public func readResponse(forHead: Bool = false) throws -> Response {
        var statusLine: String?
        repeat {
            guard let line = try readLine() else { throw ClientError("connection closed before a response") }
            statusLine = line
            // Skip interim 1xx responses other than the one a test asks for.
        } while statusLine == ""
        let parts = statusLine!.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw ClientError("bad status line: \(statusLine!)")
        }
        var headers: [(name: String, value: String)] = []
        while let line = try readLine(), !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw ClientError("bad header: \(line)") }
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            headers.append((String(line[..<colon]), String(value)))
        }
        var response = Response(status: status, headers: headers, body: [])
        if forHead || status < 200 || status == 204 || status == 304 { return response }
        if let length = response.header("content-length").flatMap(Int.init) {
            response.body = try readExactly(length)
        } else if response.header("transfer-encoding")?.lowercased() == "chunked" {
            while true {
                guard let sizeLine = try readLine(), let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                    throw ClientError("bad chunk size")
                }
                if size == 0 {
                    while let line = try readLine(), !line.isEmpty {}
                    break
                }
                response.body += try readExactly(size)
                _ = try readExactly(2)
            }
        } else {
            while try fill() {}
            response.body = buffer
            buffer = []
        }
        return response
    }

    /// Sends a request and reads its response.
    public func request(
        _ method: String = "GET", _ target: String, headers: [String: String] = [:], body: [UInt8] = [], host: String = "test"
    ) throws -> Response {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        try send(Array(text.utf8) + body)
        return try readResponse(forHead: method == "HEAD")
    }

    /// True when the server has closed the connection (reads end of file or a
    /// reset) within the receive timeout, after any data still buffered.
    public func isClosedByServer() -> Bool {
        buffer = []
        do {
            while try fill() { buffer = [] }
            return true
        } catch {
            return false
        }
    }

    /// Whether bytes are waiting to be read right now (without blocking).
    public func hasPendingData() -> Bool {
        if !buffer.isEmpty { return true }
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, 0) > 0
    }
}
