import Glibc

/// A TCP socket bound to 127.0.0.1 on a free port, for the test servers that
/// stand in for outside services (model endpoints, webhook receivers).
public enum LoopbackListener {
    /// The bound socket and its port; listening unless `listening` is false
    /// (then connections are refused until `listen(fd, …)`).
    public static func bind(listening: Bool = true) throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, !listening || listen(fd, 64) == 0 else {
            close(fd)
            throw ServerProcess.Failure(description: "cannot bind or listen on 127.0.0.1")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// One HTTP/1.1 request read from `fd`: its head (request line and header
    /// lines), header names lower-cased, and the `Content-Length` body; nil if the
    /// peer closed first.
    public static func readRequest(_ fd: Int32) -> (head: String, headers: [String: String], body: [UInt8])? {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        var headEnd: Int?
        while headEnd == nil {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { return nil }
            buffer += chunk.prefix(count)
            if buffer.count >= 4 {
                for index in 0...(buffer.count - 4) where buffer[index..<(index + 4)] == [13, 10, 13, 10] {
                    headEnd = index + 4
                    break
                }
            }
        }
        let head = String(decoding: buffer.prefix(headEnd!), as: UTF8.self)
        var headers: [String: String] = [:]
        for line in head.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < headEnd! + length {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { return nil }
            buffer += chunk.prefix(count)
        }
        return (head, headers, Array(buffer[headEnd!..<(headEnd! + length)]))
    }
}
