/// The HTTP version of a request.
public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// One parsed HTTP request, body complete.
///
/// ```swift
/// router.get("/api/projects/{id}") { request in
///     let id = try request.parameters.int("id")
///     ...
/// }
/// ```
public struct Request: Sendable {
    /// The method token.
    public let method: HTTPMethod
    /// The request-target as sent (`/path?query`).
    public let target: String
    /// The path part of the target, still percent-encoded.
    public let path: String
    /// The query part of the target without `?`, still percent-encoded.
    public let query: String?
    /// `HTTP/1.0` or `HTTP/1.1`.
    public let version: HTTPVersion
    /// The header fields; names lower-cased.
    public let headers: HTTPHeaders
    /// The request body (de-chunked).
    public internal(set) var body: [UInt8]
    /// Path parameters captured by the route pattern, percent-decoded.
    public internal(set) var parameters: Parameters
    /// The client's address (`127.0.0.1`), for throttling and audit: the peer's, or
    /// behind a trusted proxy the forwarded one (see `Server.Configuration.trustedProxies`).
    public let remoteAddress: String
    /// `https` when the connection is TLS — or a trusted proxy says so — else `http`.
    public internal(set) var scheme = "http"
    /// What the route's ``Admission`` returned, when it ran before the body was read.
    public internal(set) var admission: (any Sendable)?

    /// Creates a request; the server does this, tests may too.
    public init(
        method: HTTPMethod, target: String, version: HTTPVersion = .http1_1,
        headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [], remoteAddress: String = "127.0.0.1"
    ) {
        self.method = method
        self.target = target
        if let question = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = String(target[..<question])
            query = String(target[target.index(after: question)...])
        } else {
            path = target
            query = nil
        }
        self.version = version
        self.headers = headers
        self.body = body
        self.parameters = Parameters()
        self.remoteAddress = remoteAddress
    }

    /// The query string's items, percent-decoded (`+` as space); the last value wins.
    public var queryItems: [String: String] {
        guard let query, !query.isEmpty else { return [:] }
        var items: [String: String] = [:]
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = PercentDecoding.decode(pieces[0], plusAsSpace: true) ?? String(pieces[0])
            let value = pieces.count > 1 ? (PercentDecoding.decode(pieces[1], plusAsSpace: true) ?? "") : ""
            items[name] = value
        }
        return items
    }

    /// Whether every query item percent-decodes to UTF-8 text without NUL (the
    /// server answers 400 before a route sees a query that is not).
    var queryIsWellFormed: Bool {
        guard let query, query.utf8.contains(where: { $0 == UInt8(ascii: "%") }) else { return true }
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            for piece in part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false) {
                guard let text = PercentDecoding.decode(piece, plusAsSpace: true), !text.utf8.contains(0) else { return false }
            }
        }
        return true
    }

    static func listContains(_ list: String, _ token: String) -> Bool {
        for item in list.split(separator: ",") {
            let trimmed = item.trimmingSpaces()
            if HTTPHeaders.same(String(trimmed), token) { return true }
        }
        return false
    }
}

/// Path parameters captured by a route pattern such as `/api/projects/{id}`.
public struct Parameters: Sendable {
    private var items: [(name: String, value: String)] = []

    /// No parameters.
    public init() {}

    /// The decoded value of `name`, or nil.
    public subscript(name: String) -> String? {
        for item in items where item.name == name { return item.value }
        return nil
    }

    /// The value of `name`, or a 400 error.
    public func require(_ name: String) throws(HTTPError) -> String {
        guard let value = self[name] else {
            throw HTTPError(.badRequest, code: "missing_parameter", message: "missing path parameter '\(name)'")
        }
        return value
    }

    /// The value of `name` as an integer, or a 404 (an id that cannot exist).
    public func int(_ name: String) throws(HTTPError) -> Int {
        guard let text = self[name], let value = Int(text), value >= 0 else {
            throw HTTPError(.notFound, code: "not_found", message: "no such \(name)")
        }
        return value
    }

    mutating func append(_ name: String, _ value: String) { items.append((name, value)) }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var slice = self
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return slice
    }
}
