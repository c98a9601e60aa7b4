public import Testing

/// The database engines a test runs on: SQLite always, PostgreSQL when Debian's
/// `postgresql` package is installed (a throw-away server shared by the test
/// process, a fresh database per test). Tests that touch the database take
/// `@Test(arguments: TestEngine.all)` and pass the engine to their fixture.
/// Without PostgreSQL, ``TestEngine/postgresMissing`` is the visible skip.
public enum TestEngine: String, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    /// Every engine this machine can run.
    public static let all: [TestEngine] = PostgresServer.available ? [.sqlite, .postgres] : [.sqlite]

    public var testDescription: String { rawValue }

    /// A new, empty database for one test: a file in `directory`, or a database
    /// on the shared PostgreSQL server (its URL).
    public func freshDatabase(in directory: String) throws -> String {
        switch self {
        case .sqlite: return directory + "/arbiter.sqlite"
        case .postgres: return try PostgresServer.freshDatabase()
        }
    }
}
