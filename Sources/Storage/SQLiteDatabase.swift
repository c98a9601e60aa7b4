import CLinux
import CSQLite

/// One SQLite connection, the embedded engine's ``Database``. Not thread-safe: use
/// it from one thread at a time (the ``SQLitePool`` gives each connection its own thread).
///
/// ```swift
/// let db = try SQLiteDatabase(path: "arbiter.sqlite")
/// try db.transaction {
///     try db.run("INSERT INTO projects(name) VALUES (?)", ["demo"])
/// }
/// let names = try db.query("SELECT name FROM projects") { $0.string(0) }
/// ```
public final class SQLiteDatabase: Database {
    let handle: OpaquePointer
    /// The file path.
    public let path: String
    private var cache: [String: SQLiteStatement] = [:]
    /// Counts this connection's statements (set by its pool).
    public var counter: StatementCounter?

    /// How a connection is opened.
    public enum Mode: Sendable {
        /// Read-write, creating the file; WAL, `synchronous=FULL`, foreign keys on.
        case writer
        /// Read-only (`query_only`), for the reader pool.
        case reader
    }

    /// Opens (creating if needed) the database at `path`.
    public init(path: String, mode: Mode = .writer, busyTimeoutMilliseconds: Int32 = 5000) throws(SQLiteError) {
        _ = Self.configured
        var connection: OpaquePointer?
        let flags =
            (mode == .writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY)
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let code = sqlite3_open_v2(path, &connection, flags, nil)
        guard code == SQLITE_OK, let connection else {
            let error = SQLiteError(connection: connection, code: code, sql: nil)
            sqlite3_close_v2(connection)
            throw error
        }
        handle = connection
        self.path = path
        sqlite3_busy_timeout(connection, busyTimeoutMilliseconds)
        sqlite3_extended_result_codes(connection, 1)
        switch mode {
        case .writer:
            // https://sqlite.org/wal.html — readers never block the writer.
            try execute("PRAGMA journal_mode = WAL")
            // https://sqlite.org/pragma.html#pragma_synchronous — FULL: a commit is on
            // disk (WAL fsync) before COMMIT returns; group commit makes it cheap.
            try execute("PRAGMA synchronous = FULL")
            // 64 MiB of pages (default 2 MiB): inserts into the pair indexes keyed
            // by content hash and id land on random pages of a large database.
            try execute("PRAGMA cache_size = -65536")
        case .reader:
            try execute("PRAGMA query_only = 1")
        }
        try execute("PRAGMA foreign_keys = ON")
        try execute("PRAGMA temp_store = MEMORY")
    }

    deinit {
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Once per process, before the first connection: SQLite stops counting its
    /// allocations (a global mutex on every malloc and free; a tenth of an
    /// import's CPU).
    private static let configured: Void = { _ = clinux_sqlite_memstatus_off() }()

    /// Runs one or more statements without results (`sqlite3_exec`).
    public func execute(_ sql: String) throws(SQLiteError) {
        counter?.add()
        let code = sqlite3_exec(handle, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw SQLiteError(connection: handle, code: code, sql: sql) }
    }

    /// SQL as SQLite speaks it.
    public var dialect: SQLDialect { .sqlite }

    /// A cached prepared statement for `sql`.
    public func statement(_ sql: String) throws(SQLiteError) -> any PreparedStatement { try prepared(sql) }

    /// The same, as the concrete type.
    func prepared(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let cached = cache[sql] { return cached }
        let statement = try SQLiteStatement(database: self, sql: sql)
        cache[sql] = statement
        return statement
    }

    /// Runs a statement with bindings; returns the number of changed rows.
    @discardableResult
    public func run(_ sql: String, _ values: [SQLValue] = []) throws(SQLiteError) -> Int {
        let statement = try prepared(sql)
        try statement.bind(values)
        return try statement.run()
    }

    /// Every row of a query, mapped.
    public func query<T>(_ sql: String, _ values: [SQLValue] = [], _ transform: (any Row) throws -> T) throws -> [T] {
        let statement = try prepared(sql)
        try statement.bind(values)
        return try statement.rows(transform)
    }

    /// The first row of a query, mapped, or nil.
    public func queryFirst<T>(_ sql: String, _ values: [SQLValue] = [], _ transform: (any Row) throws -> T) throws -> T? {
        let statement = try prepared(sql)
        try statement.bind(values)
        return try statement.first(transform)
    }

    /// Whether a transaction is open.
    public var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` in `BEGIN IMMEDIATE ... COMMIT`, rolling back if it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try wrapped(begin: "BEGIN IMMEDIATE", body)
    }

    /// Runs `body` in one read transaction (`BEGIN` … `COMMIT`), so that all its
    /// queries see one snapshot; inside a transaction already open, just runs it.
    public func snapshot<T>(_ body: () throws -> T) throws -> T {
        guard !inTransaction else { return try body() }
        return try wrapped(begin: "BEGIN", body)
    }

    /// `begin`, `body`, `COMMIT` — or `ROLLBACK` if anything throws.
    private func wrapped<T>(begin: String, _ body: () throws -> T) throws -> T {
        try execute(begin)
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if inTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Runs `body` in a savepoint inside the current transaction.
    public func savepoint<T>(_ name: String = "s", _ body: () throws -> T) throws -> T {
        try execute("SAVEPOINT \(name)")
        do {
            let result = try body()
            try execute("RELEASE \(name)")
            return result
        } catch {
            try? execute("ROLLBACK TO \(name)")
            try? execute("RELEASE \(name)")
            throw error
        }
    }
}
