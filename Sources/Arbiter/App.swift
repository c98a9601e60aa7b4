public import HTTPServer
public import Logging

/// The Arbiter application: builds the route table and serves it.
///
/// ```swift
/// let app = try App(configuration: .init(publicDirectory: "Public"))
/// try await app.run()
/// ```
public struct App: Sendable {
    /// What `arbiter serve` was asked for.
    public struct Configuration: Sendable {
        /// HTTP limits, address and port.
        public var http = Server.Configuration()
        /// The static UI directory; nil looks for `Public/` (see ``Locations``).
        public var publicDirectory: String?

        /// Defaults.
        public init() {}
    }

    /// The configuration in force.
    public let configuration: Configuration
    /// The HTTP server.
    public let server: Server

    /// Wires the routes. Throws if the public directory cannot be found.
    public init(configuration: Configuration, logger: Logger = Logger(label: "arbiter")) throws {
        self.configuration = configuration
        var router = Router()
        HealthRoutes.register(on: &router)
        let publicDirectory = try Locations.publicDirectory(configuration.publicDirectory)
        router.serveFiles(try StaticFiles(root: publicDirectory))
        server = Server(configuration: configuration.http, router: router, logger: logger)
    }

    /// Serves until SIGTERM/SIGINT, then shuts down gracefully.
    public func run() async throws {
        try await server.run()
    }
}
