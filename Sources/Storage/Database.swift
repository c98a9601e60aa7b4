/// A connection as repositories see it: prepared statements, typed values,
/// transactions and snapshot reads. ``SQLiteDatabase`` and ``PostgresDatabase``
/// are the two engines; no repository or service knows which it has. Repositories write the portable SQL described in
/// `docs/ARCHITECTURE.md` and ask ``dialect`` where engines differ.
///
/// ```swift
/// func count(_ db: any Database, projectID: Int) throws -> Int {
///     try db.queryFirst("SELECT count(*) FROM pairs WHERE project_id = ?", [.int(Int64(projectID))]) { $0.int(0) } ?? 0
/// }
/// ```
public protocol Database: AnyObject {
    /// Which SQL the engine speaks, for the few statements that differ.
    var dialect: SQLDialect { get }
    /// Runs one or more statements without parameters or results (DDL, `BEGIN`).
    func execute(_ sql: String) throws
    /// A prepared statement for `sql` (cached per connection: prepare once, bind many times).
    func statement(_ sql: String) throws -> any PreparedStatement
    /// Runs a statement with parameters; returns the number of changed rows.
    @discardableResult func run(_ sql: String, _ values: [SQLValue]) throws -> Int
    /// Every row of a query, mapped.
    func query<T>(_ sql: String, _ values: [SQLValue], _ transform: (any Row) throws -> T) throws -> [T]
    /// The first row of a query, mapped, or nil.
    func queryFirst<T>(_ sql: String, _ values: [SQLValue], _ transform: (any Row) throws -> T) throws -> T?
    /// Whether a transaction is open.
    var inTransaction: Bool { get }
    /// Runs `body` in a write transaction, rolled back if it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T
    /// Runs `body` in one read transaction: every query in it sees one snapshot.
    func snapshot<T>(_ body: () throws -> T) throws -> T
    /// Runs `body` in a savepoint inside the current transaction.
    func savepoint<T>(_ name: String, _ body: () throws -> T) throws -> T
}

extension Database {
    /// ``run(_:_:)`` without parameters.
    @discardableResult public func run(_ sql: String) throws -> Int { try run(sql, []) }
    /// ``query(_:_:_:)`` without parameters.
    public func query<T>(_ sql: String, _ transform: (any Row) throws -> T) throws -> [T] { try query(sql, [], transform) }
    /// ``queryFirst(_:_:_:)`` without parameters.
    public func queryFirst<T>(_ sql: String, _ transform: (any Row) throws -> T) throws -> T? { try queryFirst(sql, [], transform) }
    /// Runs an `INSERT` with `RETURNING id` appended and returns the new row's id
    /// (portable: SQLite ≥ 3.35 and PostgreSQL; there is no "last insert id").
    public func insert(_ sql: String, _ values: [SQLValue]) throws -> Int64 {
        guard let id = try queryFirst(sql + " RETURNING id", values, { $0.int64(0) }) else {
            throw SQLInsertError(sql: sql)
        }
        return id
    }

    /// Runs `body` atomically: inside the transaction already open (its statements
    /// commit or roll back with it), else in a transaction of its own. For the few
    /// steps of ``ConnectionPool/autocommit(_:)`` work that must go together.
    public func atomically<T>(_ body: () throws -> T) throws -> T {
        inTransaction ? try body() : try transaction(body)
    }

    /// ``savepoint(_:_:)`` named `s`.
    public func savepoint<T>(_ body: () throws -> T) throws -> T { try savepoint("s", body) }
}

/// A prepared statement of one connection, used on that connection's thread.
public protocol PreparedStatement: AnyObject {
    /// The SQL text.
    var sql: String { get }
    /// Binds `values` to parameters 1...n (clearing earlier bindings).
    func bind(_ values: [SQLValue]) throws
    /// Runs to completion; returns the number of changed rows.
    @discardableResult func run() throws -> Int
    /// Maps every row.
    func rows<T>(_ transform: (any Row) throws -> T) throws -> [T]
    /// Calls `body` for every row, streaming (nothing is collected).
    func forEach(_ body: (any Row) throws -> Void) throws
    /// The first row, mapped, or nil.
    func first<T>(_ transform: (any Row) throws -> T) throws -> T?
}

/// The current row of a query, read by 0-based column. Valid only inside the
/// closure it is passed to.
public protocol Row {
    /// Whether the column is NULL.
    func isNull(_ index: Int32) -> Bool
    func int(_ index: Int32) -> Int
    func int64(_ index: Int32) -> Int64
    func double(_ index: Int32) -> Double
    /// An integer column read as a flag (non-zero is true).
    func bool(_ index: Int32) -> Bool
    /// A text column ("" for NULL).
    func string(_ index: Int32) -> String
    func blob(_ index: Int32) -> [UInt8]
    /// The column as the engine typed it (integers, reals, text, blobs, NULL),
    /// for code that copies rows it does not know (`arbiter db copy`).
    func value(_ index: Int32) -> SQLValue
}

extension Row {
    public func optionalString(_ index: Int32) -> String? { isNull(index) ? nil : string(index) }
    public func optionalInt(_ index: Int32) -> Int? { isNull(index) ? nil : int(index) }
    public func optionalDouble(_ index: Int32) -> Double? { isNull(index) ? nil : double(index) }
}

/// An `INSERT` that returned no row (a conflict clause skipped it).
public struct SQLInsertError: Error, CustomStringConvertible {
    public let sql: String
    public var description: String { "the insert returned no row: \(sql.prefix(200))" }
}

/// The SQL an engine speaks, where engines differ (see `docs/ARCHITECTURE.md`).
public enum SQLDialect: Sendable {
    case sqlite
    case postgres
}

/// A failure an engine reports, with what repositories need to tell apart
/// whatever the engine (SQLite's extended codes, PostgreSQL's SQLSTATEs).
public protocol DatabaseError: Error {
    /// A UNIQUE or PRIMARY KEY constraint failed.
    var isUniqueViolation: Bool { get }
    /// The write failed because the database's storage is full (`SQLITE_FULL`,
    /// SQLSTATE `53100`): nothing was written, and it may work once space returns.
    var isStorageFull: Bool { get }
}

extension Error {
    /// Whether this is an engine's unique-constraint failure.
    public var isUniqueViolation: Bool { (self as? any DatabaseError)?.isUniqueViolation ?? false }
    /// Whether this is an engine's "storage full" failure.
    public var isStorageFull: Bool { (self as? any DatabaseError)?.isStorageFull ?? false }
}
