/// An HTTP response: status, headers and a body that is either in memory or
/// streamed (chunked) so that large exports never sit in memory.
///
/// ```swift
/// Response(status: .ok, contentType: "application/json", body: Array(#"{"status":"ok"}"#.utf8))
/// Response.stream(contentType: "application/x-ndjson") { writer in
///     for line in lines { try await writer.write(line) }
/// }
/// ```
public struct Response: Sendable {
    /// The body of a response.
    public enum Body: Sendable {
        /// A complete body, sent with `Content-Length`.
        case bytes([UInt8])
        /// A body produced piece by piece, sent with `Transfer-Encoding: chunked`.
        /// `write` suspends while the client is slow (back-pressure).
        case stream(@Sendable (BodyWriter) async throws -> Void)
    }

    /// The status.
    public var status: HTTPStatus
    /// Header fields; the server adds `Content-Length`/`Transfer-Encoding`, `Date`
    /// and `Connection`.
    public var headers: HTTPHeaders
    /// The body.
    public var body: Body

    /// Creates a response.
    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Creates a response with a content type and a complete body.
    public init(status: HTTPStatus = .ok, contentType: String, body: [UInt8]) {
        self.status = status
        self.headers = ["Content-Type": contentType]
        self.body = .bytes(body)
    }

    /// A streamed response.
    public static func stream(
        status: HTTPStatus = .ok, contentType: String, headers: HTTPHeaders = HTTPHeaders(),
        _ produce: @escaping @Sendable (BodyWriter) async throws -> Void
    ) -> Response {
        var headers = headers
        headers["Content-Type"] = contentType
        return Response(status: status, headers: headers, body: .stream(produce))
    }

    /// A JSON response from already-encoded bytes.
    public static func json(_ bytes: [UInt8], status: HTTPStatus = .ok) -> Response {
        Response(status: status, contentType: "application/json", body: bytes)
    }

    /// A plain-text response.
    public static func text(_ text: String, status: HTTPStatus = .ok) -> Response {
        Response(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }
}

/// Writes the pieces of a streamed response body.
public struct BodyWriter: Sendable {
    let sink: any BodySink

    /// Sends `bytes` as one chunk; suspends while the client's buffer is full.
    /// Throws when the client has gone away.
    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        try await sink.write(bytes)
    }

    /// Sends a string as UTF-8.
    public func write(_ text: String) async throws {
        try await write(Array(text.utf8))
    }
}

/// Where a ``BodyWriter`` sends its chunks (the connection, or a test collector).
protocol BodySink: Sendable {
    func write(_ bytes: [UInt8]) async throws
}

/// The client closed the connection while a response was being streamed.
public struct ConnectionClosedError: Error, CustomStringConvertible {
    public var description: String { "the client closed the connection" }
}
