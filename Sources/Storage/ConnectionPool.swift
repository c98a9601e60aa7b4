/// What services run their work on: a writer that group-commits, readers that
/// each run in one snapshot. ``SQLitePool`` is SQLite's (one writer thread, WAL
/// readers); another engine provides its own, and services do not change.
public protocol ConnectionPool: Sendable {
    /// Runs `body` in a write transaction and returns once it is durable. Writes
    /// may share one commit (group commit); one that throws rolls back alone.
    func write<T: Sendable>(_ body: @escaping @Sendable (any Database) throws -> T) async throws -> T
    /// Runs `body` where each statement is atomic on its own: on PostgreSQL
    /// outside any transaction (no `BEGIN`/`COMMIT` round trips), for work whose
    /// every statement leaves the database consistent, or that opens a transaction
    /// itself where several must go together (``Database/atomically(_:)``).
    /// SQLite runs it as a ``write(_:)`` — one group-committed transaction, which
    /// is stronger — so the same code is right on both.
    func autocommit<T: Sendable>(_ body: @escaping @Sendable (any Database) throws -> T) async throws -> T
    /// Runs `body` alone, outside any transaction (work that manages its own).
    func exclusive<T: Sendable>(_ body: @escaping @Sendable (any Database) throws -> T) async throws -> T
    /// Runs `body` in one read transaction: every query sees the same snapshot.
    func read<T: Sendable>(_ body: @escaping @Sendable (any Database) throws -> T) async throws -> T
    /// A read-only connection of the caller's own, for long background reads.
    func openReader() throws -> any Database
    /// The statements this pool's connections have sent.
    var statements: StatementCounter { get }
    /// Stops after the queued work is done.
    func close()
}
