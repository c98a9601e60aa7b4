import Threads
import CLinux
import Glibc

/// ``ConnectionPool`` over PostgreSQL: `connections` threads, each with its own
/// ``PostgresDatabase`` (libpq blocks, so never on Swift's cooperative pool),
/// taking work from one queue. PostgreSQL orders concurrent writers itself, so
/// each write is its own transaction (re-run on a serialization failure or
/// deadlock) rather than SQLite's group commit; a read is one `REPEATABLE READ`
/// snapshot.
///
/// ```swift
/// let pool = try PostgresPool(url: "postgres://arbiter@127.0.0.1:5432/arbiter")
/// let id = try await pool.write { db in try db.insert("INSERT INTO projects (name) VALUES (?)", [.text("demo")]) }
/// ```
public final class PostgresPool: ConnectionPool {
    /// The database's URL.
    public let url: String
    private let jobs = BlockingQueue<Job>()
    public let statements = StatementCounter()

    final class Job: @unchecked Sendable {
        // @unchecked Sendable: run once, on one pool thread; its continuation is resumed exactly once.
        let run: (PostgresDatabase) -> Void
        init(run: @escaping (PostgresDatabase) -> Void) { self.run = run }
    }

    /// Opens `connections` connections (each tried now, so a bad URL fails here);
    /// `prepare` runs first on one of them (migrations).
    public init(url: String, connections: Int = 4, prepare: (any Database) throws -> Void = { _ in }) throws {
        self.url = url
        var opened: [PostgresDatabase] = []
        for _ in 0..<max(1, connections) { opened.append(try PostgresDatabase(url: url)) }
        for connection in opened { connection.counter = statements }
        try prepare(opened[0])
        for (index, connection) in opened.enumerated() { start(connection, index: index) }
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any Database) throws -> T) async throws -> T {
        try await submit { db in try db.transaction { try body(db) } }
    }

    public func autocommit<T: Sendable>(_ body: @escaping @Sendable (any Database) throws -> T) async throws -> T {
        try await submit { db in try body(db) }
    }

    public func exclusive<T: Sendable>(_ body: @escaping @Sendable (any Database) throws -> T) async throws -> T {
        try await submit { db in try body(db) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any Database) throws -> T) async throws -> T {
        try await submit { db in try db.snapshot { try body(db) } }
    }

    public func openReader() throws -> any Database { try PostgresDatabase(url: url) }

    public func close() { jobs.close() }

    private func submit<T: Sendable>(_ body: @escaping @Sendable (PostgresDatabase) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job { db in
                do {
                    // After a server restart the connection comes back here, or the job fails as unavailable.
                    try db.reconnectIfNeeded()
                    continuation.resume(returning: try body(db))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            if !jobs.push(job) { continuation.resume(throwing: PoolClosedError()) }
        }
    }

    private func start(_ connection: PostgresDatabase, index: Int) {
        final class Box: @unchecked Sendable {
            // @unchecked Sendable: handed to its thread once, then used by that thread only.
            let connection: PostgresDatabase
            let jobs: BlockingQueue<Job>
            let index: Int
            init(_ connection: PostgresDatabase, _ jobs: BlockingQueue<Job>, _ index: Int) {
                self.connection = connection
                self.jobs = jobs
                self.index = index
            }
        }
        let box = Box(connection, jobs, index)
        OSThread.spawn(name: "postgres-\(index)") {
            while true {
                let batch = box.jobs.popBatch(limit: 1)
                if batch.isEmpty { return }
                for job in batch { job.run(box.connection) }
            }
        }
    }
}
