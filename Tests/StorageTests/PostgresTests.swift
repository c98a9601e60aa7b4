import Glibc
@testable import Storage
import Testing
import TestSupport

/// The PostgreSQL implementation of ``Database`` against a real server started
/// for the suite (skipped, with the reason, where PostgreSQL is not installed).
@Suite(.serialized, .enabled(if: PostgresServer.available, "needs PostgreSQL: apt-get install postgresql"))
final class PostgresTests {
    let server: PostgresServer

    init() throws { server = try PostgresServer() }

    func database(_ name: String) throws -> PostgresDatabase {
        try PostgresDatabase(url: try server.database(name))
    }

    @Test func typedValuesRoundTripThroughPreparedStatements() throws {
        let db = try database("values")
        #expect(db.dialect == .postgres)
        try db.execute("CREATE TABLE t (id bigserial PRIMARY KEY, n bigint, x double precision, s text, b bytea, f boolean)")
        let tricky = "it's a '?' — \u{1F600}; DROP TABLE t; --"
        let id = try db.insert(
            "INSERT INTO t (n, x, s, b, f) VALUES (?, ?, ?, ?, ?)",
            [.int(-9_007_199_254_740_993), .double(0.1), .text(tricky), .blob([0, 1, 254, 255]), SQLValue(true)])
        #expect(id == 1)
        let row = try #require(
            try db.queryFirst("SELECT n, x, s, b, f, NULL FROM t WHERE id = ?", [.int(id)]) { row in
                (row.int64(0), row.double(1), row.string(2), row.blob(3), row.bool(4), row.isNull(5), row.optionalString(5))
            })
        #expect(row.0 == -9_007_199_254_740_993 && row.1 == 0.1 && row.2 == tricky && row.3 == [0, 1, 254, 255] && row.4)
        #expect(row.5 && row.6 == nil)
        // Numbered placeholders reuse a value; a '?' inside a literal is text.
        #expect(try db.queryFirst("SELECT ?1::bigint + ?1::bigint, '?'", [.int(21)]) { ($0.int(0), $0.string(1)) }! == (42, "?"))
        #expect(try db.run("UPDATE t SET n = n + 1 WHERE id = ?", [.int(id)]) == 1)
        #expect(try db.query("SELECT s FROM t") { $0.string(0) } == [tricky])
    }

    @Test func uniqueViolationsAndRollbacksAsInSQLite() throws {
        let db = try database("constraints")
        try db.execute("CREATE TABLE u (id bigserial PRIMARY KEY, name text UNIQUE)")
        try db.run("INSERT INTO u (name) VALUES (?)", [.text("a")])
        #expect(performing: { try db.run("INSERT INTO u (name) VALUES (?)", [.text("a")]) }, throws: { $0.isUniqueViolation })
        // ON CONFLICT DO NOTHING … RETURNING: no row.
        #expect(try db.queryFirst("INSERT INTO u (name) VALUES (?) ON CONFLICT DO NOTHING RETURNING id", [.text("a")]) { $0.int(0) } == nil)
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try db.transaction {
                try db.run("INSERT INTO u (name) VALUES (?)", [.text("b")])
                throw Boom()
            }
        }
        #expect(!db.inTransaction)
        try db.transaction {
            try db.run("INSERT INTO u (name) VALUES (?)", [.text("c")])
            _ = try? db.savepoint("inner") { () throws -> Int in
                try db.run("INSERT INTO u (name) VALUES (?)", [.text("d")])
                throw Boom()
            }
        }
        let names = try db.query("SELECT name FROM u ORDER BY name") { $0.string(0) }
        #expect(names == ["a", "c"])
        // A failed statement whose error was swallowed does not commit silently.
        #expect(
            performing: {
                try db.transaction {
                    try db.run("INSERT INTO u (name) VALUES (?)", [.text("e")])
                    _ = try? db.run("INSERT INTO u (name) VALUES (?)", [.text("a")])
                }
            }, throws: { ($0 as? PostgresError)?.sqlState == "25P02" })
        #expect(try db.query("SELECT count(*) FROM u", []) { $0.int(0) } == [2])
    }

    @Test func aSnapshotSeesOneMoment() throws {
        let url = try server.database("snapshots")
        let reader = try PostgresDatabase(url: url)
        let writer = try PostgresDatabase(url: url)
        try writer.execute("CREATE TABLE s (k bigint)")
        try writer.run("INSERT INTO s VALUES (?)", [.int(1)])
        let counts = try reader.snapshot { () throws -> (Int, Int) in
            let before = try reader.queryFirst("SELECT count(*) FROM s", []) { $0.int(0) } ?? -1
            try writer.run("INSERT INTO s VALUES (?)", [.int(2)])
            let after = try reader.queryFirst("SELECT count(*) FROM s", []) { $0.int(0) } ?? -1
            return (before, after)
        }
        #expect(counts == (1, 1))
        #expect(try reader.queryFirst("SELECT count(*) FROM s", []) { $0.int(0) } == 2)
    }

    @Test func aBadURLIsOneClearLine() {
        #expect(
            performing: { try PostgresDatabase(url: "postgres://nobody@127.0.0.1:1/none") },
            throws: { "\($0)".hasPrefix("PostgreSQL error: ") && !"\($0)".contains("\n") })
    }
}

/// `--db`: a URL is PostgreSQL, anything else a SQLite path; passwords never printed.
@Suite struct DatabaseLocationTests {
    @Test func urlsArePostgresAndPasswordsAreRedacted() {
        #expect(DatabaseLocation("arbiter.sqlite") == .sqlite(path: "arbiter.sqlite"))
        #expect(DatabaseLocation("/var/lib/arbiter/db") == .sqlite(path: "/var/lib/arbiter/db"))
        #expect(DatabaseLocation("postgres://a@h/d") == .postgres(url: "postgres://a@h/d"))
        #expect(DatabaseLocation("postgresql://a@h/d") == .postgres(url: "postgresql://a@h/d"))
        #expect(DatabaseLocation("postgres://arbiter:s3cret@db:5432/arbiter").description == "postgres://arbiter:***@db:5432/arbiter")
        #expect(
            DatabaseLocation("postgres://arbiter@db/arbiter?sslmode=require&password=s3cret").description
                == "postgres://arbiter@db/arbiter?sslmode=require&password=***")
        #expect(DatabaseLocation("postgres://arbiter@db/arbiter").description == "postgres://arbiter@db/arbiter")
        #expect(DatabaseLocation("postgres://x/y").migrations(in: "Migrations") == "Migrations/postgres")
        #expect(DatabaseLocation("a.sqlite").migrations(in: "Migrations") == "Migrations")
    }
}

@Suite struct PlaceholderTests {
    @Test func questionMarksBecomeNumberedParameters() {
        #expect(PostgresDatabase.numberedPlaceholders("SELECT ? , ?") == ("SELECT $1 , $2", 2))
        #expect(
            PostgresDatabase.numberedPlaceholders("UPDATE p SET w = ?1 WHERE id = ?2 AND n = ?1") == (
                "UPDATE p SET w = $1 WHERE id = $2 AND n = $1", 2
            ))
        #expect(PostgresDatabase.numberedPlaceholders("SELECT '?', \"a?\" -- why?\n, ?") == ("SELECT '?', \"a?\" -- why?\n, $1", 1))
    }
}

/// The pool services use, on PostgreSQL: concurrent writes each in their own
/// transaction, reads as snapshots, failures confined to their write.
@Suite(.serialized, .enabled(if: PostgresServer.available, "needs PostgreSQL: apt-get install postgresql"))
final class PostgresPoolTests {
    let server: PostgresServer

    init() throws { server = try PostgresServer() }

    @Test func concurrentWritesAllLandAndAFailureFailsAlone() async throws {
        let pool = try PostgresPool(url: try server.database("pool"), connections: 4) { db in
            try db.execute("CREATE TABLE counters (k bigint PRIMARY KEY, n bigint NOT NULL)")
            try db.run("INSERT INTO counters VALUES (?, ?)", [.int(1), .int(0)])
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask { _ = try await pool.write { db in try db.run("UPDATE counters SET n = n + 1 WHERE k = ?", [.int(1)]) } }
            }
            try await group.waitForAll()
        }
        #expect(try await pool.read { db in try db.queryFirst("SELECT n FROM counters", []) { $0.int(0) } } == 200)
        await #expect(
            performing: {
                try await pool.write { db in
                    try db.run("UPDATE counters SET n = n + 1 WHERE k = ?", [.int(1)])
                    return try db.run("INSERT INTO counters VALUES (?, ?)", [.int(1), .int(0)])
                }
            }, throws: { $0.isUniqueViolation })
        #expect(try await pool.read { db in try db.queryFirst("SELECT n FROM counters", []) { $0.int(0) } } == 200)
        pool.close()
    }
}

/// The PostgreSQL migrations build the same schema as the SQLite ones: every
/// table with the same columns, and the same migration identifiers.
@Suite(.serialized, .enabled(if: PostgresServer.available, "needs PostgreSQL: apt-get install postgresql"))
final class PostgresMigrationTests {
    let server: PostgresServer

    init() throws { server = try PostgresServer() }

    @Test func bothEnginesHaveTheSameTablesAndColumns() throws {
        let sqlitePath = "/tmp/arbiter-parity-\(getpid()).sqlite"
        defer { unlink(sqlitePath); unlink(sqlitePath + "-wal"); unlink(sqlitePath + "-shm") }
        let sqlite = try SQLiteDatabase(path: sqlitePath)
        let sqliteApplied = try Migrator(directory: RepositoryPaths.migrations).migrate(sqlite)
        let postgres = try PostgresDatabase(url: try server.database("parity"))
        let postgresApplied = try Migrator(directory: RepositoryPaths.postgresMigrations).migrate(postgres)
        #expect(!sqliteApplied.isEmpty && sqliteApplied == postgresApplied)
        var sqliteColumns: [String: [String]] = [:]
        // Search indexes differ by design: an FTS5 table in SQLite, a table of
        // tsvectors in PostgreSQL.
        for table in try sqlite.query(
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'", [],
            { $0.string(0) })
        {
            sqliteColumns[table] = try sqlite.query("SELECT name FROM pragma_table_info(?) ORDER BY name", [.text(table)]) { $0.string(0) }
        }
        var postgresColumns: [String: [String]] = [:]
        for (table, column) in try postgres.query(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'pair_search' ORDER BY table_name, column_name",
            [],
            { ($0.string(0), $0.string(1)) })
        {
            postgresColumns[table, default: []].append(column)
        }
        #expect(sqliteColumns.keys.sorted() == postgresColumns.keys.sorted())
        for table in sqliteColumns.keys.sorted() {
            #expect(sqliteColumns[table] == postgresColumns[table]?.sorted(), "\(table)")
        }
        // Applying again is a no-op on both (checksums match).
        #expect(try Migrator(directory: RepositoryPaths.postgresMigrations).migrate(postgres).isEmpty)
    }
}
