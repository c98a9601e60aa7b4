public import HTTPServer
public import Logging

/// The Arbiter application: opens the database, builds the route table, serves.
///
/// ```swift
/// var configuration = App.Configuration()
/// configuration.databasePath = "arbiter.sqlite"
/// let app = try App(configuration: configuration)
/// try await app.run()
/// ```
public struct App: Sendable {
    /// What `arbiter serve` was asked for.
    public struct Configuration: Sendable {
        /// HTTP limits, address and port.
        public var http = Server.Configuration()
        /// The SQLite file. Default `./arbiter.sqlite`.
        public var databasePath = "arbiter.sqlite"
        /// The static UI directory; nil looks for `Public/` (see ``Locations``).
        public var publicDirectory: String?
        /// The SQL migrations; nil looks for `Migrations/`.
        public var migrationsDirectory: String?
        /// The lease clock (Unix ms). Tests replace it.
        public var now: @Sendable () -> Int64 = { Clock.nowMilliseconds() }

        /// Defaults.
        public init() {}
    }

    /// The configuration in force.
    public let configuration: Configuration
    /// The HTTP server.
    public let server: Server
    /// The database.
    public let store: ArbiterStore

    /// Opens and migrates the database and wires the routes.
    public init(configuration: Configuration, logger: Logger = Logger(label: "arbiter")) throws {
        self.configuration = configuration
        let migrations = try Locations.migrationsDirectory(configuration.migrationsDirectory)
        store = try ArbiterStore(path: configuration.databasePath, migrationsDirectory: migrations)
        var router = Router()
        HealthRoutes.register(on: &router)
        let auth = Authenticator(store: store)
        ProjectRoutes(store: store, auth: auth).register(on: &router)
        AnnotationRoutes(store: store, auth: auth, now: configuration.now).register(on: &router)
        ImportRoutes(store: store, auth: auth).register(on: &router)
        let publicDirectory = try Locations.publicDirectory(configuration.publicDirectory)
        router.serveFiles(try StaticFiles(root: publicDirectory))
        server = Server(configuration: configuration.http, router: router, logger: logger)
    }

    /// Serves until SIGTERM/SIGINT, then shuts down gracefully.
    public func run() async throws {
        try await server.run()
        store.close()
    }
}
