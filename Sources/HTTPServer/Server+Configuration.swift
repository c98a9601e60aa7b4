import Glibc

extension Server {
    /// Every limit and timeout of the server, each with its default.
    ///
    /// ```swift
    /// var configuration = Server.Configuration()
    /// configuration.port = 0  // any free port; read it back from `server.port`
    /// ```
    public struct Configuration: Sendable {
        /// Address to bind. Default `127.0.0.1`.
        public var host = "127.0.0.1"
        /// Port to bind; 0 picks a free one. Default 8080.
        public var port = 8080
        /// Event loops (threads); each owns its connections. Default: one per core.
        public var eventLoops = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        /// `listen(2)` backlog. Default 4096.
        public var backlog: Int32 = 4096
        /// Longest request line (method, target, version): 414 past it. Default 8 KiB.
        public var maxRequestLineBytes = 8 * 1024
        /// Largest request head (request line and all header fields): 431. Default 64 KiB.
        public var maxHeaderBytes = 64 * 1024
        /// Most header fields in one request: 431 past it. Default 100.
        public var maxHeaderFields = 100
        /// Largest request body of a route that checks its caller on the head
        /// (an ``Admission``) unless the route says otherwise: 413. Default 32 MiB.
        public var maxBodyBytes = 32 * 1024 * 1024
        /// Largest request body of a route that checks no caller before reading
        /// (no ``Admission``: sign-in, health, pages) unless the route says
        /// otherwise: 413. A request that matches no route (unknown path, wrong
        /// method) takes no body at all: it is answered without reading one and the
        /// connection closes. Default 64 KiB.
        public var anonymousMaxBodyBytes = 64 * 1024
        /// Most open connections; past it the server stops accepting (the kernel's
        /// backlog holds newcomers) until some close. Default 10,000.
        public var maxConnections = 10_000
        /// Time from a request's first byte to the end of its head: 408. Default 10 s.
        /// A new TLS connection must also finish its handshake within it.
        public var headerReadTimeout: Duration = .seconds(10)
        /// Time an idle keep-alive connection is kept. Default 60 s.
        public var idleTimeout: Duration = .seconds(60)
        /// The grace a request body is given before it must keep pace (see
        /// ``minBodyBytesPerSecond``): past the deadline, 408. Default 30 s.
        public var bodyReadTimeout: Duration = .seconds(30)
        /// Longest a client may leave written response bytes unread. Default 30 s.
        public var writeTimeout: Duration = .seconds(30)
        /// How long a graceful shutdown waits for in-flight requests. Default 10 s.
        public var shutdownGracePeriod: Duration = .seconds(10)
        /// A streamed response's `write` suspends while more than this is unsent. Default 256 KiB.
        public var streamHighWaterBytes = 256 * 1024
        /// Most open connections from one client address (trusted proxies exempt);
        /// past it, a new connection gets a 503 and is closed. Default 256.
        public var maxConnectionsPerAddress = 256
        /// Bodies must arrive at least this fast: the body's deadline is
        /// `start + bodyReadTimeout + received / rate`, so every body earns time only
        /// by the bytes it has sent — declaring a large `Content-Length` buys none,
        /// and a body sent a byte at a time is cut after the grace. Default 64 KiB/s.
        public var minBodyBytesPerSecond = 64 * 1024
        /// Pipelining back-pressure: a connection whose unsent output passes this
        /// many bytes, or ``maxPendingResponses`` responses, is not read from (and
        /// its buffered requests wait) until half of it has been sent. Default 1 MiB.
        public var maxPendingOutputBytes = 1 << 20
        /// See ``maxPendingOutputBytes``. Default 64.
        public var maxPendingResponses = 64
        /// Log one line per request through swift-log (label `arbiter.access`, level info).
        public var accessLog = true
        /// Paths that carry a secret (`/invite/<token>`): the access log shows the
        /// prefix and `…`, never the rest. Default none.
        public var redactedPathPrefixes: [String] = []
        /// After handling a batch of more than 8 ready connections, a loop calls
        /// `sched_yield()` so that loops sharing a core interleave finely instead
        /// of by the kernel's time slice (which otherwise sets the p99). Default on.
        public var yieldAfterBusyBatch = true
        /// Serve HTTPS with this certificate and key; nil serves plain HTTP.
        public var tls: TLSContext?
        /// Reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed:
        /// only for a peer in one of these ranges is ``Request/remoteAddress`` the
        /// forwarded client and ``Request/scheme`` the forwarded scheme. Default none.
        public var trustedProxies: [IPRange] = []
        /// Headers added to every response that does not set them itself
        /// (security headers: CSP, `X-Content-Type-Options`, ...). Default none.
        public var defaultHeaders: [(name: String, value: String)] = []
        /// Told about every response (route pattern, status, time to the response head),
        /// on the event loop: it must be quick and must not block. Default none.
        public var observer: (any RequestObserver)?

        /// The defaults.
        public init() {}

        var parserLimits: ParserLimits {
            ParserLimits(maxRequestLineBytes: maxRequestLineBytes, maxHeaderBytes: maxHeaderBytes, maxHeaderFields: maxHeaderFields)
        }
    }
}

extension Duration {
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}

/// Sees every answered request (for metrics). Called on the event loop thread.
public protocol RequestObserver: Sendable {
    /// `route` is the matched pattern (`/api/projects/{id}`), `static` for files,
    /// or `unmatched`; `nanoseconds` runs from the request head to the response head.
    func observe(method: HTTPMethod, route: String, status: Int, nanoseconds: UInt64)
}
