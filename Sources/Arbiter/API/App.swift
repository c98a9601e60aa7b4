public import ModelEndpoints
import Threads
public import HTTPServer
import JSON
import Storage
public import Logging

/// The Arbiter application: opens the database, builds the route table, serves.
///
/// ```swift
/// var configuration = App.Configuration()
/// configuration.database = "arbiter.sqlite"   // or "postgres://arbiter@db/arbiter"
/// let app = try App(configuration: configuration)
/// try await app.run()
/// ```
public struct App: Sendable {
    /// What `arbiter serve` was asked for.
    public struct Configuration: Sendable {
        /// HTTP limits, address and port.
        public var http = Server.Configuration()
        /// The database: a SQLite file (default `./arbiter.sqlite`) or a
        /// `postgres://` URL (see ``DatabaseLocation``).
        public var database = "arbiter.sqlite"
        /// Connections to PostgreSQL this node opens (its share of the server's
        /// `max_connections`); SQLite ignores it.
        public var databaseConnections = ArbiterStore.defaultPostgresConnections
        /// The static UI directory; nil looks for `Public/` (see ``Locations``).
        public var publicDirectory: String?
        /// The SQL migrations; nil looks for `Migrations/`.
        public var migrationsDirectory: String?
        /// Certificate and key (PEM files) to serve HTTPS; nil serves plain HTTP.
        public var tls: (certificate: String, key: String)?
        /// Where reward-model jobs keep their exports and models; nil: `DATABASE.models/`
        /// next to a SQLite file, `./arbiter.models/` with PostgreSQL.
        public var modelsDirectory: String?
        /// Where streamed exports are staged (removed once sent or abandoned); nil: `$TMPDIR` or `/tmp`.
        public var temporaryDirectory: String?
        /// A running export job silent this long (ms) is taken over by another node (or
        /// by this one after a restart).
        public var jobStaleAfter = RewardJobs.defaultStaleAfter
        /// The model endpoints arena projects battle with (`serve --endpoints-file`); none by default.
        public var models = ModelPool.none
        /// Single sign-on with OpenID Connect (`serve --oidc-issuer …`); nil: off.
        public var singleSignOn: SingleSignOn.Configuration?
        /// Whether people may sign in with a password (`serve --no-password-sign-in` turns it off).
        public var passwordSignIn = true
        /// How webhooks are sent (retry window, timeouts, private addresses).
        public var webhooks = WebhookDispatcher.Configuration()
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
    /// Every API route with the roles it allows.
    let routeTable: [RouteSpec]
    /// Indexes new pairs for the item browser's search, in the background.
    public let searchIndexer: SearchIndexer
    /// Sends webhook events (on one node of a cluster at a time).
    public let webhooks: WebhookDispatcher
    /// Runs model judges in the background.
    public let judges: JudgeService
    /// scrypt runs here, off the event loops (≈ 32 MiB and tens of ms each).
    static let hashing = ThreadPool(name: "scrypt", threads: 2)

    /// Opens and migrates the database and wires the routes.
    public init(configuration: Configuration, logger: Logger = Logger(label: "arbiter")) throws {
        self.configuration = configuration
        let migrations = try Locations.migrationsDirectory(configuration.migrationsDirectory)
        let metrics = ArbiterMetrics()
        let location = DatabaseLocation(configuration.database)
        store = try ArbiterStore(
            location: location, migrationsRoot: migrations, connections: configuration.databaseConnections,
            commitObserver: CommitObserver { batch in metrics.committed(batch: batch) })
        var router = Router()
        HealthRoutes.register(on: &router)
        let now = configuration.now
        let auth = Authenticator(store: store, now: now, usage: TokenUsage(store: store))
        let storage = StorageFullMonitor(logger: logger) { metrics.storageFull() }
        var api = APIRouter(router: router, auth: auth, storage: storage)
        let accountService = AccountService(store: store, hashing: Self.hashing, now: now)
        var accounts = AccountRoutes(service: accountService, auth: auth, secureCookies: configuration.tls != nil)
        accounts.passwordSignIn = configuration.passwordSignIn
        accounts.register(on: &api)
        var singleSignOn: SingleSignOn?
        if let sso = configuration.singleSignOn { singleSignOn = SingleSignOn(configuration: sso, store: store, now: now) }
        SingleSignOnRoutes(
            singleSignOn: singleSignOn,
            passwordSignIn: configuration.passwordSignIn, store: store, accounts: accounts, now: now
        ).register(on: &api)
        PasswordRoutes(service: accountService, auth: auth, accounts: accounts).register(on: &api)
        ProjectRoutes(store: store, now: now, models: configuration.models).register(on: &api)
        ArenaRoutes(
            service: ArenaService(store: store, models: configuration.models, now: now), models: configuration.models,
            generator: GenerateService(store: store, models: configuration.models)
        ).register(on: &api)
        let node = NodeName.make()
        let adaptive = AdaptiveWorker(store: store, node: node, now: now)
        let studies = StudyService(store: store, now: now)
        AnnotationRoutes(
            service: AnnotationService(store: store, stored: { metrics.annotationStored() }, adaptive: adaptive, now: now), studies: studies
        )
        .register(on: &api)
        StudyRoutes(service: studies, accounts: accounts).register(on: &api)
        ImportRoutes(store: store, now: now).register(on: &api)
        judges = JudgeService(store: store, models: configuration.models, now: now)
        JudgeRoutes(service: judges).register(on: &api)
        TokenRoutes(store: store, now: now).register(on: &api)
        ReportRoutes(store: store, now: now).register(on: &api)
        ItemRoutes(store: store, now: now).register(on: &api)
        searchIndexer = SearchIndexer(store: store)
        let modelsDirectory: String
        switch location {
        case .sqlite(let path): modelsDirectory = configuration.modelsDirectory ?? path + ".models"
        case .postgres: modelsDirectory = configuration.modelsDirectory ?? "arbiter.models"
        }
        let jobs = RewardJobs(root: modelsDirectory, store: store, node: node, staleAfter: configuration.jobStaleAfter, now: now)
        let exports = ExportService(
            store: store, jobs: jobs, now: now, temporaryRoot: configuration.temporaryDirectory ?? TemporaryExport.defaultRoot)
        ExportRoutes(service: exports).register(on: &api)
        RewardRoutes(service: exports, jobs: jobs).register(on: &api)
        let webhooks = WebhookDispatcher(store: store, node: node, configuration: configuration.webhooks, now: now)
        self.webhooks = webhooks
        WebhookRoutes(service: WebhookService(store: store), now: now, registered: { webhooks.wake() }).register(on: &api)
        let server = ServerReference()
        HealthRoutes.register(
            on: &api, store: store, metrics: metrics, storage: storage,
            openConnections: { server.value?.openConnections ?? 0 }, now: now)
        let documented = api.specs + [RouteSpec(method: .GET, pattern: "/api/openapi.json", access: .everyone)]
        let document = OpenAPI.document(routes: documented).serialized()
        api.add(.GET, "/api/openapi.json", .everyone) { _, _ in Response(status: .ok, contentType: "application/json", body: document) }
        routeTable = api.specs
        router = api.router
        let publicDirectory = try Locations.publicDirectory(configuration.publicDirectory)
        let files = try StaticFiles(root: publicDirectory)
        PageRoutes.register(on: &router, files: files)
        router.serveFiles(files)
        var http = configuration.http
        http.defaultHeaders = SecurityHeaders.all(tls: configuration.tls != nil)
        // One-time links carry their token in the path.
        http.redactedPathPrefixes = ["/invite/", "/reset/", "/s/"]
        if let tls = configuration.tls {
            http.tls = try TLSContext(certificatePath: tls.certificate, keyPath: tls.key)
        }
        http.observer = metrics
        self.server = Server(configuration: http, router: router, logger: logger)
        server.value = self.server
        self.webhooks.start()
    }

    /// Serves until SIGTERM/SIGINT, then shuts down gracefully; `onStarted` gets
    /// the bound port once the server listens.
    public func run(onStarted: (Int) -> Void = { _ in }) async throws {
        // Pairs staged by an import that a previous run did not finish go first.
        try await ImportService(store: store).discardAbandoned(now: configuration.now)
        try await server.run(onStarted: onStarted)
        webhooks.stop()
        await judges.stop()
        store.close()
    }
}

/// The server, for routes registered before it exists (open connections in /metrics).
final class ServerReference: @unchecked Sendable {
    // @unchecked Sendable: set once in App.init before the server starts; read after.
    var value: Server?
}
