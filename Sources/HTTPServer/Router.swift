/// A request handler. Runs as a Swift task whose preferred executor is the
/// connection's event loop, so it may `await` slow work (database, training)
/// without holding up other connections; it must not block the thread.
public typealias Handler = @Sendable (Request) async throws -> Response

/// Decides, from the request head alone (its body not read yet, `body` empty),
/// whether the caller may send a body to this route: throw to refuse (the error
/// is the response, and the connection closes without reading the body). What it
/// returns reaches the handler as ``Request/admission`` (e.g. the authenticated
/// caller). It runs only when the body has not already arrived with the head, so
/// an unauthorised client can never make the server read, or buffer, its upload.
public typealias Admission = @Sendable (Request) async throws -> (any Sendable)?

/// A handler that runs directly on the event loop thread with no task hop — for
/// work that never blocks and takes microseconds (health checks, cached files).
public typealias InlineHandler = @Sendable (Request) throws -> Response

/// One registered route.
struct Route: Sendable {
    enum Kind: Sendable {
        case async(Handler)
        case inline(InlineHandler)
    }
    let kind: Kind
    let pattern: String
    /// Overrides ``Server/Configuration/maxBodyBytes`` for this route (uploads).
    let maxBodyBytes: Int?
    /// Checks the caller before the body is read (see ``Admission``).
    var admission: Admission?
}

/// Builds the route table: methods, literal segments and `{name}` parameters.
/// Build it once, then hand it to the ``Server``, which serves from an immutable copy.
///
/// ```swift
/// var router = Router()
/// router.inline(.GET, "/healthz") { _ in .json(Array(#"{"status":"ok"}"#.utf8)) }
/// router.add(.GET, "/api/projects/{id}") { request in
///     let id = try request.parameters.int("id")
///     return try await projects.show(id)
/// }
/// ```
public struct Router: Sendable {
    var root = RouteNode()
    var staticFiles: StaticFiles?

    /// An empty router.
    public init() {}

    /// Adds an async route. `maxBodyBytes` raises or lowers the body limit for it;
    /// `admission` checks the caller on the head, before any body byte is read.
    public mutating func add(
        _ method: HTTPMethod, _ pattern: String, maxBodyBytes: Int? = nil, admission: Admission? = nil, _ handler: @escaping Handler
    ) {
        insert(method, pattern, Route(kind: .async(handler), pattern: pattern, maxBodyBytes: maxBodyBytes, admission: admission))
    }

    /// Adds a route whose handler runs on the event loop thread (see ``InlineHandler``).
    /// It takes no request body: one is refused (413) without being read.
    public mutating func inline(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping InlineHandler) {
        insert(method, pattern, Route(kind: .inline(handler), pattern: pattern, maxBodyBytes: 0))
    }

    /// `add(.GET, ...)`.
    public mutating func get(_ pattern: String, _ handler: @escaping Handler) { add(.GET, pattern, handler) }
    /// `add(.POST, ...)`.
    public mutating func post(_ pattern: String, maxBodyBytes: Int? = nil, _ handler: @escaping Handler) {
        add(.POST, pattern, maxBodyBytes: maxBodyBytes, handler)
    }
    /// `add(.PUT, ...)`.
    public mutating func put(_ pattern: String, _ handler: @escaping Handler) { add(.PUT, pattern, handler) }
    /// `add(.PATCH, ...)`.
    public mutating func patch(_ pattern: String, _ handler: @escaping Handler) { add(.PATCH, pattern, handler) }
    /// `add(.DELETE, ...)`.
    public mutating func delete(_ pattern: String, _ handler: @escaping Handler) { add(.DELETE, pattern, handler) }

    /// Serves files under `files.root` for GET/HEAD requests that match no route.
    public mutating func serveFiles(_ files: StaticFiles) { staticFiles = files }

    /// Every registered (method, pattern), for route tables in tests and docs.
    public var routes: [(method: HTTPMethod, pattern: String)] {
        var result: [(method: HTTPMethod, pattern: String)] = []
        root.collect(into: &result)
        return result.sorted { ($0.pattern, $0.method.rawValue) < ($1.pattern, $1.method.rawValue) }
    }

    private mutating func insert(_ method: HTTPMethod, _ pattern: String, _ route: Route) {
        precondition(pattern.hasPrefix("/"), "route patterns start with /: \(pattern)")
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        root.insert(segments[...], method: method, route: route)
    }

    /// What the router says about a method and path.
    enum Match {
        case found(Route, Parameters)
        case methodNotAllowed(allow: [String])
        case notFound
        case badPath
    }

    /// Matches a raw (percent-encoded) path.
    func match(_ method: HTTPMethod, path: String) -> Match {
        var parameters = Parameters()
        var node = root
        var utf8 = path.utf8[...]
        if utf8.first == UInt8(ascii: "/") { utf8 = utf8.dropFirst() }
        var done = false
        while !done {
            let end = utf8.firstIndex(of: UInt8(ascii: "/")) ?? utf8.endIndex
            let rawSegment = Substring(utf8[utf8.startIndex..<end])
            done = end == utf8.endIndex
            if !done { utf8 = utf8[utf8.index(after: end)...] }
            guard let segment = PercentDecoding.decode(rawSegment) else { return .badPath }
            if let next = node.literals[segment] {
                node = next
            } else if let name = node.parameterName, let next = node.parameterNode.first, !segment.isEmpty {
                parameters.append(name, segment)
                node = next
            } else {
                return .notFound
            }
        }
        if let route = node.routes[method] { return .found(route, parameters) }
        if method == .HEAD, let route = node.routes[.GET] { return .found(route, parameters) }
        if node.routes.isEmpty { return .notFound }
        var allow = node.routes.keys.map(\.rawValue)
        if node.routes[.GET] != nil && node.routes[.HEAD] == nil { allow.append("HEAD") }
        return .methodNotAllowed(allow: allow.sorted())
    }
}

/// A node of the route trie: literal children, at most one `{parameter}` child.
struct RouteNode: Sendable {
    var literals: [String: RouteNode] = [:]
    var parameterName: String?
    /// Zero or one node (an array, because a struct cannot contain itself).
    var parameterNode: [RouteNode] = []
    var routes: [HTTPMethod: Route] = [:]

    mutating func insert(_ segments: ArraySlice<String>, method: HTTPMethod, route: Route) {
        guard let segment = segments.first else {
            precondition(routes[method] == nil, "route registered twice: \(method) \(route.pattern)")
            routes[method] = route
            return
        }
        if segment.hasPrefix("{") && segment.hasSuffix("}") && segment.count > 2 {
            let name = String(segment.dropFirst().dropLast())
            precondition(parameterName == nil || parameterName == name, "conflicting parameter names in \(route.pattern)")
            parameterName = name
            if parameterNode.isEmpty { parameterNode.append(RouteNode()) }
            parameterNode[0].insert(segments.dropFirst(), method: method, route: route)
        } else {
            literals[segment, default: RouteNode()].insert(segments.dropFirst(), method: method, route: route)
        }
    }

    func collect(into result: inout [(method: HTTPMethod, pattern: String)]) {
        for (method, route) in routes { result.append((method, route.pattern)) }
        for child in literals.values { child.collect(into: &result) }
        for child in parameterNode { child.collect(into: &result) }
    }
}
