import CLinux
import Glibc
public import Storage

/// The application's database: a migrated connection pool over SQLite (a file,
/// the default) or PostgreSQL (a server several nodes share). Services reach it
/// only through ``ConnectionPool`` and ``Database``, so neither engine shows above
/// the repositories.
public final class ArbiterStore: Sendable {
    /// Group-committing writer and snapshot readers (SQLite), or a pool of
    /// connections each running its own transactions (PostgreSQL).
    public let pool: any ConnectionPool
    /// Where the data lives.
    public let location: DatabaseLocation
    /// When this node last gave expired leases back.
    public let leaseSweep = LeaseSweep()

    /// Connections a PostgreSQL pool opens per node, unless told otherwise.
    public static let defaultPostgresConnections = 8

    /// Opens (creating and migrating) the database; `migrationsRoot` is the
    /// `Migrations/` directory (each engine's files are found inside it). SQLite
    /// opens `readers` read connections beside its writer; PostgreSQL `connections`.
    public init(
        location: DatabaseLocation, migrationsRoot: String, readers: Int = 4, connections: Int = defaultPostgresConnections,
        commitObserver: CommitObserver? = nil
    ) throws {
        self.location = location
        let migrator = try Migrator(directory: location.migrations(in: migrationsRoot))
        switch location {
        case .sqlite(let path):
            pool = try SQLitePool(path: path, readers: readers, commitObserver: commitObserver) { db in try migrator.migrate(db) }
        case .postgres(let url):
            pool = try PostgresPool(url: url, connections: connections) { db in try migrator.migrate(db) }
        }
    }

    /// One migrated connection, for command-line work.
    public static func openConnection(_ location: DatabaseLocation, migrationsRoot: String) throws -> any Database {
        let migrator = try Migrator(directory: location.migrations(in: migrationsRoot))
        let db: any Database
        switch location {
        case .sqlite(let path): db = try SQLiteDatabase(path: path)
        case .postgres(let url): db = try PostgresDatabase(url: url)
        }
        try migrator.migrate(db)
        return db
    }

    public func close() { pool.close() }

    /// Tables a database rebuilds by itself from its other rows (the search index
    /// and its queue): `arbiter db copy` neither copies nor compares them.
    public static let derivedTables: Set<String> = ["pair_search", "search_queue"]

    /// Tables whose triggers only keep rows a copy already carries — tallies on
    /// `pairs` (votes, open reports; migration 0014) and the webhook queue of new
    /// judgements (0022): `arbiter db copy` writes them with those triggers off.
    public static let talliedTables: Set<String> = ["annotations", "pair_reports"]
}
