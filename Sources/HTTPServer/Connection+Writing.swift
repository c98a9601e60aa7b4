import CLinux
import COpenSSL
import Glibc
import Logging
import Synchronization

extension Connection {
    // MARK: Responses

    /// Serialises a response (head and body in one buffer when small) and queues it.
    func send(_ response: Response, for request: Request) {
        guard !state.isClosed else { return }
        let isHead = request.method == .HEAD
        let code = response.status.code
        let bodyless = code < 200 || code == 204 || code == 304
        var bodyBytes: [UInt8] = []
        var chunked = false
        var streamBody = false
        if case .stream = response.body { streamBody = true }
        let streamed = streamBody && !isHead && !bodyless
        // Draining, or a stream HTTP/1.0 cannot frame: the connection closes after this response.
        state.responding(
            streamBody: streamBody, streamed: streamed, http10: request.version != .http1_1,
            draining: core.draining.load(ordering: .relaxed))

        var out: [UInt8] = []
        out.reserveCapacity(256)
        Self.appendStatusLine(response.status, to: &out)
        for field in response.headers.fields {
            out.append(contentsOf: field.name.utf8)
            out.append(0x3A)
            out.append(0x20)
            out.append(contentsOf: field.value.utf8)
            out.append(0x0D)
            out.append(0x0A)
        }
        for header in core.defaultHeaderLines where !response.headers.contains(header.name) {
            out.append(contentsOf: header.line)
        }
        switch response.body {
        case .bytes(let bytes):
            if !bodyless {
                out.append(contentsOf: Self.contentLengthPrefix)
                out.append(contentsOf: String(bytes.count).utf8)
                out.append(0x0D)
                out.append(0x0A)
            }
            if !isHead && !bodyless { bodyBytes = bytes }
        case .stream:
            if request.version == .http1_1 {
                out.append(contentsOf: Self.chunkedHeader)
                chunked = true
            }
        }
        out.append(contentsOf: Self.datePrefix)
        out.append(contentsOf: loop.httpDate)
        out.append(0x0D)
        out.append(0x0A)
        if !keepAlive {
            out.append(contentsOf: Self.connectionClose)
        } else if request.version == .http1_0 {
            out.append(contentsOf: Self.connectionKeepAlive)
        }
        out.append(0x0D)
        out.append(0x0A)
        if bodyBytes.count <= 4096 {
            out.append(contentsOf: bodyBytes)
            enqueue(out)
        } else {
            enqueue(out)
            enqueue(bodyBytes)
        }
        logAccess(request, status: code, bytes: bodyBytes.count)

        if streamed, case .stream(let produce) = response.body {
            startStream(produce, chunked: chunked)
            return
        }
        finishRequest()
    }

    /// The request is answered: get ready for the next one, or close.
    func finishRequest() {
        head = nil
        requestStart = 0
        if state.requestFinished(now: clinux_monotonic_ns()) == .closeWhenWritten && output.isEmpty { lingeringClose() }
    }

    private func logAccess(_ request: Request, status: Int, bytes: Int) {
        if let observer = core.configuration.observer {
            let route: String
            switch match {
            case .found(let found, _): route = found.pattern
            case .notFound where status == 200 || status == 304: route = "static"
            default: route = "unmatched"
            }
            observer.observe(method: request.method, route: route, status: status, nanoseconds: clinux_monotonic_ns() &- requestStart)
        }
        guard let logger = core.accessLogger else { return }
        let micros = (clinux_monotonic_ns() &- requestStart) / 1000
        logger.info(
            "\(request.method.rawValue) \(Self.loggedPath(request.path, redacting: core.configuration.redactedPathPrefixes)) \(status) \(bytes) \(micros)us"
        )
    }

    /// The path as the access log shows it: after a redacted prefix (a secret in
    /// the path, like an invite token) only `…`. The prefix is compared with the
    /// path as a server or browser could read it — percent-decoded, case folded,
    /// `\` as `/`, empty and dot segments removed — so `/%69nvite/…`, `//invite/…`,
    /// `/./invite/…` and `/INVITE/…` are redacted too.
    static func loggedPath(_ path: String, redacting prefixes: [String]) -> String {
        guard !prefixes.isEmpty else { return path }
        let normal = normalised(path)
        for prefix in prefixes {
            let folded = prefix.lowercased()
            if normal.hasPrefix(folded) && normal.count > folded.count { return prefix + "…" }
        }
        return path
    }

    /// `path` decoded, lower-cased, with `\` as `/` and RFC 3986 §5.2.4's dot
    /// segments (and empty ones) removed.
    static func normalised(_ path: String) -> String {
        let decoded = (PercentDecoding.decode(path) ?? path).lowercased().replacing("\\", with: "/")
        var segments: [Substring] = []
        for segment in decoded.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                _ = segments.popLast()
                continue
            }
            segments.append(segment)
        }
        let trailing = decoded.hasSuffix("/") && !segments.isEmpty ? "/" : ""
        return "/" + segments.joined(separator: "/") + trailing
    }

    static let contentLengthPrefix = Array("Content-Length: ".utf8)
    static let chunkedHeader = Array("Transfer-Encoding: chunked\r\n".utf8)
    static let datePrefix = Array("Date: ".utf8)
    static let connectionClose = Array("Connection: close\r\n".utf8)
    static let connectionKeepAlive = Array("Connection: keep-alive\r\n".utf8)
    static let statusOK = Array("HTTP/1.1 200 OK\r\n".utf8)

    static func appendStatusLine(_ status: HTTPStatus, to out: inout [UInt8]) {
        if status.code == 200 {
            out.append(contentsOf: statusOK)
            return
        }
        out.append(contentsOf: "HTTP/1.1 \(status.code) \(status.reason)\r\n".utf8)
    }

    // MARK: Streaming

    private func startStream(_ produce: @escaping @Sendable (BodyWriter) async throws -> Void, chunked: Bool) {
        let writer = BodyWriter(sink: ConnectionSink(connection: self, chunked: chunked))
        Task(executorPreference: loop) {
            let succeeded: Bool
            do {
                try await produce(writer)
                succeeded = true
            } catch {
                succeeded = false
            }
            self.onLoop { connection in connection.finishStream(succeeded: succeeded, chunked: chunked) }
        }
    }

    /// Queues one piece of a streamed body; `continuation` resumes when the client
    /// has taken enough of it.
    func streamChunk(_ bytes: [UInt8], chunked: Bool, continuation: CheckedContinuation<Void, any Error>) {
        guard state.isStreaming else {
            continuation.resume(throwing: ConnectionClosedError())
            return
        }
        if chunked {
            enqueue(Array((String(bytes.count, radix: 16) + "\r\n").utf8))
            enqueue(bytes)
            enqueue(Self.crlf)
        } else {
            enqueue(bytes)
        }
        flush()
        guard state.isStreaming else {
            continuation.resume(throwing: ConnectionClosedError())
            return
        }
        if outputBytes > core.configuration.streamHighWaterBytes {
            drainWaiter = continuation
        } else {
            continuation.resume()
        }
    }

    private func finishStream(succeeded: Bool, chunked: Bool) {
        guard state.isStreaming else { return }
        guard succeeded else {
            // The body cannot be completed: cut the connection so the client sees
            // a truncated message rather than a short one that looks whole.
            core.logger.warning("streamed response failed", metadata: ["peer": "\(remoteAddress)"])
            close()
            return
        }
        if chunked { enqueue(Self.lastChunk) }
        finishRequest()
        resume()
    }

    static let crlf: [UInt8] = [0x0D, 0x0A]
    static let lastChunk = Array("0\r\n\r\n".utf8)

    // MARK: Writing

    func enqueue(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        output.append(bytes)
        outputBytes += bytes.count
    }

    /// Writes queued output with `writev` until done or the socket is full.
    func flush() {
        while !output.isEmpty && phase != .closed {
            let written: Int = tls.map { writeTLS($0) } ?? withIOVecs { vectors, count in Glibc.writev(fd, vectors, count) }
            if written < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK {
                    if writeDeadline == 0 { writeDeadline = clinux_monotonic_ns() + core.configuration.writeTimeout.nanoseconds }
                    return
                }
                close()
                return
            }
            consumeOutput(written)
            writeDeadline = output.isEmpty ? 0 : clinux_monotonic_ns() + core.configuration.writeTimeout.nanoseconds
        }
        if let waiter = drainWaiter, outputBytes <= core.configuration.streamHighWaterBytes / 2 {
            drainWaiter = nil
            waiter.resume()
        }
        if output.isEmpty && phase == .closing { lingeringClose() }
        if state.outputWritten(pendingBytes: outputBytes, pendingResponses: output.count) {
            // Drained enough: take the next requests — on the next loop turn, so that
            // a fast reader does not turn flush → parse → flush into deep recursion.
            loop.execute { [self] in if phase != .closed { resume() } }
        }
    }

    /// `SSL_write` of the first queued bytes (up to 64 KiB gathered from the
    /// queue), with the result mapped onto `write(2)`'s.
    private func writeTLS(_ ssl: OpaquePointer) -> Int {
        var gathered: [UInt8] = []
        let first = output[0]
        let result: Int32
        if first.count - outputOffset >= 16 * 1024 || output.count == 1 {
            result = first.withUnsafeBytes { raw in
                SSL_write(ssl, raw.baseAddress! + outputOffset, Int32(min(first.count - outputOffset, 1 << 20)))
            }
        } else {
            gathered.reserveCapacity(64 * 1024)
            for (index, chunk) in output.enumerated() {
                let slice = index == 0 ? chunk[outputOffset...] : chunk[...]
                gathered.append(contentsOf: slice.prefix(64 * 1024 - gathered.count))
                if gathered.count >= 64 * 1024 { break }
            }
            result = gathered.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        }
        if result > 0 { return Int(result) }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_WRITE, SSL_ERROR_WANT_READ:
            errno = EAGAIN
        default:
            ERR_clear_error()
            errno = EPIPE
        }
        return -1
    }

    private func withIOVecs(_ body: (UnsafePointer<iovec>, Int32) -> Int) -> Int {
        let count = min(output.count, 64)
        return withUnsafeTemporaryAllocation(of: iovec.self, capacity: count) { vectors in
            // The arrays stay alive, unmodified, in `output` for the duration of the call.
            for index in 0..<count {
                let chunk = output[index]
                let base = chunk.withUnsafeBufferPointer { $0.baseAddress! }
                let offset = index == 0 ? outputOffset : 0
                vectors[index] = iovec(iov_base: UnsafeMutableRawPointer(mutating: base + offset), iov_len: chunk.count - offset)
            }
            return body(vectors.baseAddress!, Int32(count))
        }
    }

    private func consumeOutput(_ written: Int) {
        var remaining = written
        outputBytes -= written
        while remaining > 0, let first = output.first {
            let available = first.count - outputOffset
            if remaining >= available {
                remaining -= available
                output.removeFirst()
                outputOffset = 0
            } else {
                outputOffset += remaining
                remaining = 0
            }
        }
    }

    // MARK: Closing

    /// Shuts the write side and reads (discarding) for a moment, so that a client
    /// still sending gets our final response instead of a reset.
    func lingeringClose() {
        guard phase != .closed && phase != .lingering else { return }
        if state.linger(peerHungUp: peerHungUp, draining: core.draining.load(ordering: .relaxed), now: clinux_monotonic_ns()) == .close {
            close()
            return
        }
        if let tls { SSL_shutdown(tls) }  // close_notify, best effort
        Glibc.shutdown(fd, Int32(SHUT_WR))
        if canRead { readAvailable() }
    }

    /// Closes the socket at once.
    func close() {
        guard phase != .closed else { return }
        state.closed()
        loop.unregister(fd: fd)
        if let tls {
            SSL_free(tls)
            self.tls = nil
        }
        Glibc.close(fd)
        output = []
        outputBytes = 0
        inbox = []
        body = []
        if let waiter = drainWaiter {
            drainWaiter = nil
            waiter.resume(throwing: ConnectionClosedError())
        }
        owner.remove(self)
    }

    /// Called by the loop's periodic sweep.
    func checkTimeouts(now: UInt64) {
        if writeDeadline != 0 && now >= writeDeadline {
            close()
            return
        }
        switch state.timedOut(now: now) {
        case .none:
            break
        case .close:
            close()
        case .requestTimeout:
            fail(HTTPError(.requestTimeout, code: "request_timeout", message: "request not received in time"))
            if !output.isEmpty { flush() }
        }
    }

    /// Graceful shutdown: close now if nothing is under way, else after the response.
    func drain() {
        if state.drain(outputPending: !output.isEmpty) == .close { close() }
    }
}

/// The ``BodySink`` of a streamed response: hops to the connection's loop.
struct ConnectionSink: BodySink {
    let connection: Connection
    let chunked: Bool

    func write(_ bytes: [UInt8]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let chunked = self.chunked
            connection.onLoop { connection in
                connection.streamChunk(bytes, chunked: chunked, continuation: continuation)
            }
        }
    }
}
