import Logging
import Synchronization

/// What every connection of one server shares: routes, limits, loggers, counters.
final class ServerCore: Sendable {
    let router: Router
    let configuration: Server.Configuration
    let limits: ParserLimits
    let logger: Logger
    /// Access log; nil when disabled or below its level.
    let accessLogger: Logger?
    let openConnections = Atomic<Int>(0)
    /// Open connections per peer address (trusted proxies not counted).
    let connectionsByAddress = Mutex<[String: Int]>([:])
    let acceptedConnections = Atomic<Int>(0)
    let draining = Atomic<Bool>(false)
    /// `defaultHeaders`, each serialised once (`Name: value\r\n`).
    let defaultHeaderLines: [(name: String, line: [UInt8])]
    /// The whole 503 written to a connection over its address's share, with the
    /// default (security) headers like any other response.
    let tooManyConnections: [UInt8]

    init(router: Router, configuration: Server.Configuration, logger: Logger) {
        self.router = router
        self.configuration = configuration
        self.limits = configuration.parserLimits
        self.logger = logger
        self.defaultHeaderLines = configuration.defaultHeaders.map { (name: $0.name, line: Array("\($0.name): \($0.value)\r\n".utf8)) }
        let body = #"{"error":{"code":"too_many_connections","message":"too many connections from this address"}}"#
        self.tooManyConnections =
            Array(
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\nRetry-After: 1\r\n"
                    .utf8)
            + defaultHeaderLines.flatMap(\.line) + Array("\r\n\(body)".utf8)
        var access = Logger(label: "arbiter.access")
        access.logLevel = logger.logLevel
        self.accessLogger = configuration.accessLog && access.logLevel <= .info ? access : nil
    }

    /// Counts a new connection from `address`; false (nothing counted) when that
    /// address already holds `maxConnectionsPerAddress`.
    func connectionOpened(address: String) -> Bool {
        if configuration.trustedProxies.contains(where: { $0.contains(address) }) {
            openConnections.add(1, ordering: .relaxed)
            return true
        }
        let admitted = connectionsByAddress.withLock { counts -> Bool in
            let count = counts[address, default: 0]
            guard count < configuration.maxConnectionsPerAddress else { return false }
            counts[address] = count + 1
            return true
        }
        if admitted { openConnections.add(1, ordering: .relaxed) }
        return admitted
    }

    /// The connection from `address` is gone.
    func connectionClosed(address: String) {
        openConnections.subtract(1, ordering: .relaxed)
        connectionsByAddress.withLock { counts in
            guard let count = counts[address] else { return }
            counts[address] = count > 1 ? count - 1 : nil
        }
    }

    /// The response for an error thrown by a handler: its own status if it is an
    /// ``HTTPResponseError``, otherwise a 500 whose details go to the log only.
    func response(for error: any Error, request: Request) -> Response {
        if let error = error as? any HTTPResponseError { return error.response }
        if error is ConnectionClosedError { return HTTPError(.badRequest, code: "closed", message: "connection closed").response }
        logger.error("handler failed", metadata: ["method": "\(request.method)", "path": "\(request.path)", "error": "\(error)"])
        return HTTPError(.internalServerError, code: "internal_error", message: "internal server error").response
    }
}
