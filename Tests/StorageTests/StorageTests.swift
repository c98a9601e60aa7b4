import Storage
import Testing
import TestSupport

@Suite struct DatabaseTests {
    let directory = TemporaryDirectory()
    var path: String { directory.path + "/test.sqlite" }

    @Test func valuesRoundTrip() throws {
        let db = try SQLiteDatabase(path: path)
        try db.execute("CREATE TABLE t (a, b, c, d, e)")
        try db.run("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [.int(42), .double(2.5), .text(""), .blob([0, 1, 255]), .null])
        try db.run("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [.int(-1), .double(0), .text("Zoë 中文 😀 <script>"), .blob([]), .text("x")])
        let rows = try db.query("SELECT a, b, c, d, e FROM t ORDER BY rowid") { row in
            "\(row.int(0)) \(row.double(1)) [\(row.string(2))] \(row.blob(3)) \(row.optionalString(4) ?? "nil")"
        }
        #expect(rows == ["42 2.5 [] [0, 1, 255] nil", "-1 0.0 [Zoë 中文 😀 <script>] [] x"])
    }

    @Test func errorsKeepCodesAndSQLButNotValues() throws {
        let db = try SQLiteDatabase(path: path)
        try db.execute("CREATE TABLE users (name TEXT UNIQUE)")
        try db.run("INSERT INTO users VALUES (?)", ["hunter2-secret"])
        do {
            try db.run("INSERT INTO users VALUES (?)", ["hunter2-secret"])
            Issue.record("duplicate accepted")
        } catch {
            #expect(error.isUniqueViolation)
            #expect(error.resultCode == 19)  // SQLITE_CONSTRAINT
            #expect(error.extendedCode == 2067)  // SQLITE_CONSTRAINT_UNIQUE
            #expect(error.sql == "INSERT INTO users VALUES (?)")
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test func transactionsRollBack() throws {
        let db = try SQLiteDatabase(path: path)
        try db.execute("CREATE TABLE t (a)")
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try db.transaction {
                try db.run("INSERT INTO t VALUES (1)")
                throw Stop()
            }
        }
        #expect(try db.queryFirst("SELECT count(*) FROM t") { $0.int(0) } == 0)
        #expect(!db.inTransaction)
    }

    @Test func walAndForeignKeysAreOn() throws {
        let db = try SQLiteDatabase(path: path)
        #expect(try db.queryFirst("PRAGMA journal_mode") { $0.string(0) } == "wal")
        #expect(try db.queryFirst("PRAGMA foreign_keys") { $0.int(0) } == 1)
        #expect(try db.queryFirst("PRAGMA synchronous") { $0.int(0) } == 2)  // FULL
    }
}

@Suite struct MigratorTests {
    let directory = TemporaryDirectory()
    var path: String { directory.path + "/test.sqlite" }

    @Test func appliesOnceInOrder() throws {
        directory.write("m/0002_more.sql", "ALTER TABLE a ADD COLUMN y INTEGER;")
        directory.write("m/0001_first.sql", "CREATE TABLE a (x INTEGER);")
        let migrator = try Migrator(directory: directory.path + "/m")
        #expect(migrator.migrations.map(\.identifier) == ["0001_first", "0002_more"])
        let db = try SQLiteDatabase(path: path)
        #expect(try migrator.migrate(db) == ["0001_first", "0002_more"])
        #expect(try migrator.migrate(db) == [])
        try db.run("INSERT INTO a(x, y) VALUES (1, 2)")
    }

    @Test func editedMigrationIsRefused() throws {
        let db = try SQLiteDatabase(path: path)
        try Migrator(migrations: [("0001_first", "CREATE TABLE a (x);")]).migrate(db)
        let edited = Migrator(migrations: [("0001_first", "CREATE TABLE a (x, y);")])
        #expect(throws: Migrator.Failure.self) { try edited.migrate(db) }
        do { try edited.migrate(db) } catch { #expect("\(error)".contains("0001_first was edited")) }
    }

    @Test func unknownAppliedMigrationIsRefused() throws {
        let db = try SQLiteDatabase(path: path)
        try Migrator(migrations: [("0001_first", "CREATE TABLE a (x);"), ("0002_next", "CREATE TABLE b (x);")]).migrate(db)
        let older = Migrator(migrations: [("0001_first", "CREATE TABLE a (x);")])
        do {
            try older.migrate(db)
            Issue.record("accepted an unknown applied migration")
        } catch {
            #expect("\(error)".contains("0002_next"))
        }
    }

    @Test func failingMigrationLeavesNothingBehind() throws {
        let db = try SQLiteDatabase(path: path)
        let broken = Migrator(migrations: [("0001_bad", "CREATE TABLE a (x); CREATE TABLE oops (;")])
        #expect(throws: Migrator.Failure.self) { try broken.migrate(db) }
        #expect(try db.queryFirst("SELECT count(*) FROM sqlite_master WHERE name = 'a'") { $0.int(0) } == 0)
        #expect(try db.queryFirst("SELECT count(*) FROM schema_migrations") { $0.int(0) } == 0)
    }

    @Test func badFileNamesAreRefused() {
        directory.write("n/first.sql", "SELECT 1;")
        #expect(throws: Migrator.Failure.self) { try Migrator(directory: directory.path + "/n") }
    }
}

@Suite struct DatabasePoolTests {
    let directory = TemporaryDirectory()
    var path: String { directory.path + "/pool.sqlite" }

    func pool() throws -> SQLitePool {
        try SQLitePool(path: path, readers: 2) { db in try db.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)") }
    }

    /// A read sees one snapshot: a write committed between two of its queries is
    /// invisible to the second.
    @Test func aReadIsOneSnapshot() async throws {
        let pool = try pool()
        _ = try await pool.write { db in try db.run("INSERT INTO t(k, v) VALUES (1, 'a')") }
        let path = self.path
        let (before, after) = try await pool.read { db -> (Int, Int) in
            let before = try db.queryFirst("SELECT count(*) FROM t") { $0.int(0) } ?? -1
            let other = try SQLiteDatabase(path: path)
            try other.run("INSERT INTO t(k, v) VALUES (2, 'b')")
            let after = try db.queryFirst("SELECT count(*) FROM t") { $0.int(0) } ?? -1
            return (before, after)
        }
        #expect(before == 1 && after == 1)
        #expect(try await pool.read { db in try db.queryFirst("SELECT count(*) FROM t") { $0.int(0) } } == 2, "the next read sees it")
        pool.close()
    }

    @Test func concurrentWritesAreGroupCommittedAndDurable() async throws {
        let pool = try pool()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<2000 {
                group.addTask {
                    _ = try await pool.write { db in try db.run("INSERT INTO t(k, v) VALUES (?, ?)", [.int(Int64(index)), "v"]) }
                }
            }
            try await group.waitForAll()
        }
        let stats = pool.stats
        #expect(stats.writes == 2000)
        #expect(stats.commits < 2000, "writes share commits")
        #expect(stats.largestBatch > 1)
        // A new connection sees every acknowledged write.
        let fresh = try SQLiteDatabase(path: path)
        #expect(try fresh.queryFirst("SELECT count(*) FROM t") { $0.int(0) } == 2000)
        #expect(try await pool.read { db in try db.queryFirst("SELECT count(*) FROM t") { $0.int(0) } } == 2000)
        pool.close()
    }

    @Test func aFailingWriteFailsAlone() async throws {
        let pool = try pool()
        _ = try await pool.write { db in try db.run("INSERT INTO t(k, v) VALUES (1, 'one')") }
        let good = Task { try await pool.write { db in try db.run("INSERT INTO t(k, v) VALUES (2, 'two')") } }
        let bad = Task {
            try await pool.write { db in
                try db.run("INSERT INTO t(k, v) VALUES (3, 'three')")
                try db.run("INSERT INTO t(k, v) VALUES (1, 'duplicate')")
            }
        }
        _ = try await good.value
        await #expect(throws: SQLiteError.self) { try await bad.value }
        let keys = try await pool.read { db in try db.query("SELECT k FROM t ORDER BY k") { $0.int(0) } }
        #expect(keys == [1, 2], "the failed write's first insert is rolled back too")
        pool.close()
    }

    @Test func readersCannotWrite() async throws {
        let pool = try pool()
        await #expect(throws: SQLiteError.self) {
            try await pool.read { db in try db.run("INSERT INTO t(k, v) VALUES (9, 'x')") }
        }
        pool.close()
    }
}
