@testable import Arbiter
import HTTPServer
import JSON
import Logging
import Storage
import Synchronization
import Testing
import TestSupport

/// The whole application on port 0 with a temporary database and a clock the
/// test moves.
final class TestApp: Sendable {
    let directory = TemporaryDirectory()
    let app: App
    let clock = Clock()
    var port: Int { app.server.port }

    final class Clock: Sendable {
        let now = Atomic<Int64>(1_800_000_000_000)
        func advance(seconds: Int64) { now.add(seconds * 1000, ordering: .relaxed) }
    }

    /// The database: a SQLite file or a PostgreSQL URL.
    let database: String

    /// A new app on a new database, or a second node on `sharing`'s (PostgreSQL).
    init(
        engine: TestEngine = .sqlite, threads: Int = 2, sharing: TestApp? = nil, _ configure: (inout App.Configuration) -> Void = { _ in }
    ) throws {
        var configuration = App.Configuration()
        configuration.http.port = 0
        configuration.http.eventLoops = threads
        configuration.http.accessLog = false
        database = try sharing?.database ?? engine.migratedDatabase(in: directory.path)
        configuration.database = database
        configuration.modelsDirectory = directory.path + "/models"
        // Tests run side by side on one PostgreSQL server.
        configuration.databaseConnections = 3
        let clock = self.clock
        configuration.now = { clock.now.load(ordering: .relaxed) }
        configure(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        app = try App(configuration: configuration, logger: logger)
        try app.server.start()
    }

    func stop() async {
        app.webhooks.stop()
        await app.judges.stop()
        await app.server.shutdown()
        app.store.close()
    }

    /// Runs `body` on the writer, outside any transaction.
    func seed<T: Sendable>(_ body: @escaping @Sendable (any Database) throws -> T) async throws -> T {
        try await app.store.pool.exclusive(body)
    }

    /// A project with `pairs` plain pairs.
    func project(
        pairs: Int, name: String = "p", _ configure: @escaping @Sendable (inout ProjectSettings) -> Void = { _ in }
    ) async throws -> Project {
        try await seed { db in
            var settings = ProjectSettings()
            configure(&settings)
            let project = try Projects.create(db, name: name, settings: settings)
            let lines = (0..<pairs).map { #"{"id":"p\#($0)","prompt":"question \#($0)","response_a":"A\#($0)","response_b":"B\#($0)"}"# }
            var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
            return project
        }
    }

    /// Imports judgement lines (the `arbiter import annotations` format) into `project`.
    func importJudgements(_ lines: [String], into project: Project) async throws {
        try await seed { db in
            var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
        }
    }

    /// The project's rater report as an admin reads it over HTTP.
    func raters(_ project: Project, token: String) throws -> [JSONValue] {
        let response = try client().request("GET", "/api/projects/\(project.id)/raters", headers: ["Authorization": "Bearer \(token)"])
        #expect(response.status == 200)
        return try #require(JSONValue.parse(response.body)["raters"]?.arrayValue)
    }

    /// A user with a token.
    func user(_ name: String, role: Role = .annotator) async throws -> String {
        try await seed { db in
            let user = try Users.add(db, username: name, role: role)
            return try Users.createToken(db, userID: user.id).token
        }
    }

    func client() throws -> RawClient { try RawClient(port: port) }

    /// A connection of the test's own to the app's database, for looking behind the API.
    func inspect() throws -> any Database { try connect(database) }

    /// `GET /api/projects/{id}/next` → (status, assignment JSON).
    /// The server never tells the annotator the pair or the kind; tests learn them
    /// from the database and add them as `pair_id` and `kind` (test-side only).
    func next(_ token: String, project: Int, client: RawClient? = nil) throws -> (Int, JSONValue?) {
        let response = try (client ?? self.client()).request(
            "GET", "/api/projects/\(project)/next", headers: ["Authorization": "Bearer \(token)"])
        guard !response.body.isEmpty, var assignment = try JSONValue.parse(response.body)["assignment"]?.objectValue,
            let id = assignment["id"]?.intValue
        else { return (response.status, nil) }
        #expect(Set(assignment.keys) == ["id", "expires_at", "prompt", "left", "right"], "the annotator's view: \(assignment.keys)")
        let facts = try inspect().queryFirst(
            "SELECT p.external_id, a.kind FROM assignments a JOIN pairs p ON p.id = a.pair_id WHERE a.id = ?", [.int(id)]
        ) {
            ($0.string(0), $0.string(1))
        }
        assignment["pair_id"] = facts.map { .string($0.0) } ?? .null
        assignment["kind"] = facts.map { .string($0.1) } ?? .null
        return (response.status, .object(assignment))
    }

    /// `POST /api/assignments/{id}/annotation` → (status, JSON body).
    func submit(_ token: String, assignment: Int64, _ body: String, client: RawClient? = nil) throws -> (Int, JSONValue) {
        let response = try (client ?? self.client()).request(
            "POST", "/api/assignments/\(assignment)/annotation",
            headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"],
            body: Array(body.utf8))
        return (response.status, try JSONValue.parse(response.body))
    }

    /// An API call with a bearer token → (status, JSON body or null); `timeout`
    /// seconds for the answer (heavy work such as an audit trains models, slowly in
    /// a debug build on a busy machine).
    func call(
        _ method: String, _ path: String, _ token: String, _ body: String? = nil, timeout: Int = 10
    ) throws -> (status: Int, json: JSONValue) {
        var headers = ["Authorization": "Bearer \(token)"]
        if body != nil { headers["Content-Type"] = "application/json" }
        let response = try RawClient(port: port, timeout: timeout).request(
            method, path, headers: headers, body: body.map { Array($0.utf8) } ?? [])
        return (response.status, response.body.isEmpty ? .null : try JSONValue.parse(response.body))
    }

    func count(_ sql: String) async throws -> Int {
        try await app.store.pool.read { db in try db.queryFirst(sql) { $0.int(0) } ?? -1 }
    }
}

extension WebDriver {
    /// Opens `path` signed out, signs in on the login page as `name` (the test
    /// password), and waits for the page to say it is ready.
    func signIn(app: TestApp, as name: String, to path: String) throws {
        try open("http://127.0.0.1:\(app.port)\(path)")
        try wait(until: "location.pathname === '/login'")
        try element("#username").type(name)
        try element("#password").type("a long enough password")
        try element("#login-submit").click()
        try wait(until: "document.body.dataset.ready === 'true'", timeout: 20)
    }
}

/// A connection to a test's database, a SQLite file (read-only) or a PostgreSQL URL.
func connect(_ database: String) throws -> any Database {
    switch DatabaseLocation(database) {
    case .sqlite(let path): return try SQLiteDatabase(path: path, mode: .reader)
    case .postgres(let url): return try PostgresDatabase(url: url)
    }
}

extension TestEngine {
    /// A new database for one test, migrated: on PostgreSQL a copy of a template
    /// migrated once per test process (`CREATE DATABASE … TEMPLATE`, about a
    /// tenth of the time of running every migration per test); the app's own
    /// migrator then finds nothing to do.
    func migratedDatabase(in directory: String) throws -> String {
        switch self {
        case .sqlite: return try freshDatabase(in: directory)
        case .postgres: return try PostgresServer.freshDatabase(template: try Self.postgresTemplate.get())
        }
    }

    private static let postgresTemplate: Result<String, any Error> = Result {
        let url = try PostgresServer.freshDatabase()
        // The connection closes as it goes out of scope: a template must have no sessions.
        _ = try ArbiterStore.openConnection(.postgres(url: url), migrationsRoot: try Locations.migrationsDirectory(nil))
        return PostgresServer.name(of: url)
    }
}
