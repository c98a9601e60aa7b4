import Threads
import CLinux
import Glibc
import Synchronization

/// One writer connection on its own thread and several read-only connections on
/// theirs, over one WAL database file.
///
/// Writes are group-committed: the writer takes every write waiting in its queue,
/// runs each in its own savepoint inside one `BEGIN IMMEDIATE` transaction, and
/// commits once — one fsync for the whole batch — before any of them is answered.
/// A write that throws rolls back to its savepoint and fails alone.
///
/// ```swift
/// let pool = try SQLitePool(path: "arbiter.sqlite")
/// let id = try await pool.write { db in
///     try db.insert("INSERT INTO projects(name) VALUES (?)", ["demo"])
/// }
/// let count = try await pool.read { db in try db.queryFirst("SELECT count(*) FROM pairs") { $0.int(0) } ?? 0 }
/// ```
public final class SQLitePool: ConnectionPool {
    /// The database file.
    public let path: String
    private let writes = BlockingQueue<WriteJob>()
    private let reads = BlockingQueue<ReadJob>()
    private let statistics = StatisticsBox()
    public let statements = StatementCounter()
    /// Most writes in one group commit.
    public let maxBatch: Int

    /// Counters for `/metrics`.
    public struct Statistics: Sendable {
        /// Transactions committed by the writer.
        public var commits = 0
        /// Writes committed (sum of batch sizes).
        public var writes = 0
        /// Largest batch seen.
        public var largestBatch = 0
    }

    final class WriteJob: @unchecked Sendable {
        // @unchecked Sendable: `run` is called on the writer thread only; the
        // continuation inside `finish` is resumed exactly once.
        let exclusive: Bool
        let run: (any Database) throws -> Void
        let finish: ((any Error)?) -> Void
        init(exclusive: Bool, run: @escaping (any Database) throws -> Void, finish: @escaping ((any Error)?) -> Void) {
            self.exclusive = exclusive
            self.run = run
            self.finish = finish
        }
    }

    final class ReadJob: @unchecked Sendable {
        // @unchecked Sendable: as WriteJob, on one reader thread.
        let run: (any Database) -> Void
        init(run: @escaping (any Database) -> Void) { self.run = run }
    }

    /// Opens the writer (creating the file) and `readers` read-only connections.
    /// `prepare` runs first on the writer, before anyone else (migrations).
    public init(
        path: String, readers: Int = 4, maxBatch: Int = 512, commitObserver: CommitObserver? = nil,
        prepare: (any Database) throws -> Void = { _ in }
    ) throws {
        self.path = path
        self.maxBatch = maxBatch
        statistics.onCommit = commitObserver?.committed
        let writer = try SQLiteDatabase(path: path, mode: .writer)
        try prepare(writer)
        var readerConnections: [SQLiteDatabase] = []
        for _ in 0..<max(1, readers) { readerConnections.append(try SQLiteDatabase(path: path, mode: .reader)) }
        writer.counter = statements
        for reader in readerConnections { reader.counter = statements }
        startWriter(writer)
        for (index, reader) in readerConnections.enumerated() { startReader(reader, index: index) }
    }

    /// Counters so far.
    public var stats: Statistics { statistics.mutex.withLock { $0 } }

    /// Runs `body` in a group-committed transaction on the writer thread and
    /// returns once the transaction is durable.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any Database) throws -> T) async throws -> T {
        try await submit(exclusive: false, body)
    }

    /// A ``write(_:)``: inside the group commit every statement of `body` is already atomic together.
    public func autocommit<T: Sendable>(_ body: @escaping @Sendable (any Database) throws -> T) async throws -> T {
        try await submit(exclusive: false, body)
    }

    /// Runs `body` alone on the writer thread, outside any transaction (bulk
    /// imports that manage their own transactions, backups).
    public func exclusive<T: Sendable>(_ body: @escaping @Sendable (any Database) throws -> T) async throws -> T {
        try await submit(exclusive: true, body)
    }

    private func submit<T: Sendable>(exclusive: Bool, _ body: @escaping @Sendable (any Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let box = ResultBox<T>()
            let job = WriteJob(
                exclusive: exclusive,
                run: { db in box.value = try body(db) },
                finish: { error in
                    if let error {
                        continuation.resume(throwing: error)
                    } else {
                        continuation.resume(returning: box.value!)
                    }
                }
            )
            if !writes.push(job) { continuation.resume(throwing: PoolClosedError()) }
        }
    }

    /// Runs `body` on a read-only connection, in one read transaction: every
    /// query in it sees the same snapshot of the database, whatever is committed
    /// meanwhile (WAL mode: the snapshot starts at its first read).
    public func read<T: Sendable>(_ body: @escaping @Sendable (any Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = ReadJob { db in
                do { continuation.resume(returning: try db.snapshot { try body(db) }) } catch { continuation.resume(throwing: error) }
            }
            if !reads.push(job) { continuation.resume(throwing: PoolClosedError()) }
        }
    }

    /// A read-only connection of the caller's own, for long background reads
    /// (the adaptive worker, reward jobs) that should not occupy a pool reader.
    public func openReader() throws -> any Database { try SQLiteDatabase(path: path, mode: .reader) }

    /// Stops the threads after the queued work is done.
    public func close() {
        writes.close()
        reads.close()
    }

    // MARK: Threads

    private func startWriter(_ db: SQLiteDatabase) {
        let box = ConnectionBox(db)
        let writes = self.writes
        let statistics = self.statistics
        let maxBatch = self.maxBatch
        OSThread.spawn(name: "db-writer") {
            while true {
                let batch = writes.popBatch(limit: maxBatch)
                if batch.isEmpty { return }
                var group: [WriteJob] = []
                for job in batch {
                    if job.exclusive {
                        Self.commit(group, on: box.db, statistics: statistics)
                        group.removeAll()
                        do { try job.run(box.db); job.finish(nil) } catch { job.finish(error) }
                    } else {
                        group.append(job)
                    }
                }
                Self.commit(group, on: box.db, statistics: statistics)
            }
        }
    }

    /// One transaction for `jobs`, a savepoint each (a batch of one needs none: if
    /// it throws, the whole transaction is its own); answers them after COMMIT.
    private static func commit(_ jobs: [WriteJob], on db: SQLiteDatabase, statistics: StatisticsBox) {
        guard !jobs.isEmpty else { return }
        var outcomes: [(any Error)?] = []
        outcomes.reserveCapacity(jobs.count)
        do {
            try db.run("BEGIN IMMEDIATE")
        } catch {
            for job in jobs { job.finish(error) }
            return
        }
        if jobs.count == 1 {
            do {
                try jobs[0].run(db)
                outcomes.append(nil)
            } catch {
                if db.inTransaction { try? db.execute("ROLLBACK") }
                jobs[0].finish(error)
                return
            }
        } else {
            for job in jobs {
                do {
                    // Prepared once and cached: sqlite3_exec would re-parse these per job.
                    try db.run("SAVEPOINT job")
                    try job.run(db)
                    try db.run("RELEASE job")
                    outcomes.append(nil)
                } catch {
                    _ = try? db.run("ROLLBACK TO job")
                    _ = try? db.run("RELEASE job")
                    outcomes.append(error)
                }
            }
        }
        do {
            try db.run("COMMIT")
        } catch {
            if db.inTransaction { try? db.execute("ROLLBACK") }
            for job in jobs { job.finish(error) }
            return
        }
        statistics.mutex.withLock {
            $0.commits += 1
            $0.writes += jobs.count
            $0.largestBatch = max($0.largestBatch, jobs.count)
        }
        statistics.onCommit?(jobs.count)
        for (job, outcome) in zip(jobs, outcomes) { job.finish(outcome) }
    }

    private func startReader(_ db: SQLiteDatabase, index: Int) {
        let box = ConnectionBox(db)
        let reads = self.reads
        OSThread.spawn(name: "db-reader-\(index)") {
            while true {
                let batch = reads.popBatch(limit: 1)
                if batch.isEmpty { return }
                for job in batch { job.run(box.db) }
            }
        }
    }
}

/// Told the size of every group commit, on the writer thread (for metrics).
public struct CommitObserver: Sendable {
    let committed: @Sendable (Int) -> Void
    public init(_ committed: @escaping @Sendable (_ batchSize: Int) -> Void) { self.committed = committed }
}

final class StatisticsBox: @unchecked Sendable {
    // @unchecked Sendable: `onCommit` is set once in the pool's init, before the writer starts.
    let mutex = Mutex<SQLitePool.Statistics>(SQLitePool.Statistics())
    var onCommit: (@Sendable (Int) -> Void)?
}

/// The pool was closed before the work ran.
/// Moves a connection to the one thread that will use it.
private final class ConnectionBox: @unchecked Sendable {
    // @unchecked Sendable: handed over once, then used by a single thread.
    let db: SQLiteDatabase
    init(_ db: SQLiteDatabase) { self.db = db }
}

/// Carries a write's result from the writer thread to its continuation.
private final class ResultBox<T>: @unchecked Sendable {
    // @unchecked Sendable: written on the writer thread before `finish`, read after.
    var value: T?
}
