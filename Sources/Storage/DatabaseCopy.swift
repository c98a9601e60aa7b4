/// Copies every table of one migrated database into another, empty one — SQLite
/// to PostgreSQL when a team outgrows the file, or back — and proves the copy
/// row for row: each table's checksum is computed on both sides, from the values
/// as each engine returns them, and the target commits only if all match.
///
/// ```swift
/// let report = try DatabaseCopy.run(from: sqlite, to: postgres)
/// for table in report.tables { print(table.name, table.rows, table.checksum) }
/// ```
public enum DatabaseCopy {
    /// One table as copied.
    public struct Table: Sendable, Equatable {
        public var name: String
        public var rows: Int
        /// SHA-256 (hex) over the table's rows, independent of row order and engine.
        public var checksum: String
    }

    /// What was copied.
    public struct Report: Sendable {
        /// In copy order (a table after those it refers to).
        public var tables: [Table]
        public var rows: Int { tables.reduce(0) { $0 + $1.rows } }
    }

    /// Why a copy was refused or failed; nothing was committed to the target.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Copies `source` into `target` (both migrated to the same version) in one
    /// target transaction, reading the source in one snapshot.
    ///
    /// `derived` names tables the target rebuilds by itself (kept by triggers, such
    /// as a search index and its queue): they are neither copied nor compared.
    /// `tallied` names tables whose triggers only keep rows the copy already carries
    /// (vote counts on pairs, the webhook queue): they are copied with those
    /// triggers off, instead of recounting a pair's votes per judgement (or queueing
    /// every copied judgement again), and the checksums prove the result equals the
    /// source.
    ///
    /// Into PostgreSQL each table streams with `COPY … FROM STDIN`; into SQLite,
    /// in-process, row by row.
    public static func run(
        from source: any Database, to target: any Database, derived: Set<String> = [], tallied: Set<String> = [],
        progress: (String, Int) -> Void = { _, _ in }
    ) throws -> Report {
        let sourceVersion = try migrations(source)
        guard sourceVersion == (try migrations(target)) else {
            throw Failure(description: "the two databases are at different schema versions; run both with this version of arbiter first")
        }
        return try source.snapshot {
            let tables = try copyOrder(source).filter { !derived.contains($0.name) }
            let targetTables = Set(try catalog(target).keys)
            for table in tables.map(\.name) where !targetTables.contains(table) {
                throw Failure(description: "the target has no table \(table); it is not an Arbiter database of this version")
            }
            for table in tables {
                let rows = try target.queryFirst("SELECT count(*) FROM \(quoted(table.name))") { $0.int(0) } ?? 0
                if rows > 0 {
                    throw Failure(description: "the target is not empty (\(rows) rows in \(table.name)); copy only into a new database")
                }
            }
            return try target.transaction {
                if target.dialect == .postgres {
                    // Emptied (they are empty) in this transaction, so COPY may write the
                    // rows frozen: readers find them visible without first setting each
                    // row's hint bits, which would dirty every page of a fresh copy again.
                    try target.execute("TRUNCATE " + targetTables.sorted().map(quoted).joined(separator: ", "))
                }
                var copied: [Table] = []
                for table in tables {
                    let rows = try quietly(tallied.contains(table.name), table: table.name, on: target) {
                        try copy(table, from: source, to: target)
                    }
                    progress(table.name, rows)
                    let sourceSum = try checksum(source, table: table.name, columns: table.columns)
                    let targetSum = try checksum(target, table: table.name, columns: table.columns)
                    guard sourceSum == targetSum else {
                        throw Failure(
                            description:
                                "table \(table.name) differs after copying (\(sourceSum.rows) rows → \(targetSum.rows)); nothing was committed"
                        )
                    }
                    copied.append(sourceSum)
                }
                try resetIdentities(target, tables: tables)
                return Report(tables: copied)
            }
        }
    }

    /// Every application table's checksum (for comparing two databases).
    public static func checksums(_ db: any Database, derived: Set<String> = []) throws -> [Table] {
        try db.snapshot {
            try copyOrder(db).filter { !derived.contains($0.name) }.map { try checksum(db, table: $0.name, columns: $0.columns) }
        }
    }

    struct TableShape {
        var name: String
        var columns: [String]
        var references: Set<String>
    }

    static func migrations(_ db: any Database) throws -> [String] {
        try db.query("SELECT identifier FROM schema_migrations ORDER BY identifier") { $0.string(0) }
    }

    /// Tables (without the migrations' own) with their columns and the tables they refer to.
    static func catalog(_ db: any Database) throws -> [String: TableShape] {
        var shapes: [String: TableShape] = [:]
        switch db.dialect {
        case .sqlite:
            // Virtual tables (full-text search) and their shadow tables are indexes
            // kept by triggers: rebuilt in the target as the rows arrive.
            let names = try db.query(
                "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'"
            ) { $0.string(0) }
            for name in names {
                let columns = try db.query("SELECT name FROM pragma_table_info(?) ORDER BY cid", [.text(name)]) { $0.string(0) }
                let references = try db.query("SELECT \"table\" FROM pragma_foreign_key_list(?)", [.text(name)]) { $0.string(0) }
                shapes[name] = TableShape(name: name, columns: columns, references: Set(references))
            }
        case .postgres:
            let names = try db.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name != 'schema_migrations'"
            ) { $0.string(0) }
            for name in names {
                let columns = try db.query(
                    // Generated columns (the search vector) follow the others by themselves.
                    """
                    SELECT column_name FROM information_schema.columns
                    WHERE table_schema = current_schema() AND table_name = ? AND is_generated = 'NEVER' ORDER BY ordinal_position
                    """,
                    [.text(name)]
                ) { $0.string(0) }
                let references = try db.query(
                    "SELECT confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND conrelid = ?::regclass", [.text(name)]
                ) { $0.string(0) }
                shapes[name] = TableShape(name: name, columns: columns, references: Set(references))
            }
        }
        return shapes
    }

    /// The tables in an order where each comes after those its foreign keys name.
    static func copyOrder(_ db: any Database) throws -> [TableShape] {
        var remaining = try catalog(db)
        var ordered: [TableShape] = []
        while !remaining.isEmpty {
            let placed = Set(ordered.map(\.name))
            let ready = remaining.values.filter { $0.references.subtracting([$0.name]).isSubset(of: placed) }.sorted { $0.name < $1.name }
            guard !ready.isEmpty else { throw Failure(description: "foreign keys form a cycle among \(remaining.keys.sorted())") }
            for table in ready {
                ordered.append(table)
                remaining[table.name] = nil
            }
        }
        return ordered
    }

    /// Runs `body` with the triggers of `table` off when `quiet`: on PostgreSQL
    /// disabled, on SQLite (which cannot disable one) dropped and created again from
    /// their stored text, both inside the copy's transaction.
    static func quietly<T>(_ quiet: Bool, table: String, on target: any Database, _ body: () throws -> T) throws -> T {
        guard quiet else { return try body() }
        if target.dialect == .postgres {
            try target.execute("ALTER TABLE \(quoted(table)) DISABLE TRIGGER USER")
            let result = try body()
            try target.execute("ALTER TABLE \(quoted(table)) ENABLE TRIGGER USER")
            return result
        }
        let triggers = try target.query(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? ORDER BY name", [.text(table)]
        ) { ($0.string(0), $0.string(1)) }
        for (name, _) in triggers { try target.execute("DROP TRIGGER \(quoted(name))") }
        let result = try body()
        for (_, sql) in triggers { try target.execute(sql) }
        return result
    }

    /// Copies one table's rows; returns how many.
    static func copy(_ table: TableShape, from source: any Database, to target: any Database) throws -> Int {
        let columns = table.columns.map(quoted).joined(separator: ", ")
        if let postgres = target as? PostgresDatabase {
            let scan = try source.statement("SELECT \(columns) FROM \(quoted(table.name))")
            try scan.bind([])
            let width = Int32(table.columns.count)
            return try postgres.copyIn(table: table.name, columns: table.columns, freeze: true) { send in
                try scan.forEach { row in try send((0..<width).map { row.value($0) }) }
            }
        }
        let placeholders = Array(repeating: "?", count: table.columns.count).joined(separator: ", ")
        let insert = try target.statement("INSERT INTO \(quoted(table.name)) (\(columns)) VALUES (\(placeholders))")
        let scan = try source.statement("SELECT \(columns) FROM \(quoted(table.name))")
        try scan.bind([])
        var count = 0
        try scan.forEach { row in
            try insert.bind((0..<Int32(table.columns.count)).map { row.value($0) })
            try insert.run()
            count += 1
        }
        return count
    }

    /// A table's row count and an order-independent SHA-256 of its rows: each row's
    /// values are encoded with their type (so 1, 1.0, '1' and x'31' differ), the
    /// row digests sorted, and the sorted list hashed.
    static func checksum(_ db: any Database, table: String, columns: [String]) throws -> Table {
        let scan = try db.statement("SELECT \(columns.map(quoted).joined(separator: ", ")) FROM \(quoted(table))")
        try scan.bind([])
        var digests: [[UInt8]] = []
        try scan.forEach { row in
            var bytes: [UInt8] = []
            for index in 0..<Int32(columns.count) {
                switch row.value(index) {
                case .null: bytes += [0]
                case .int(let value): bytes += [1] + Array(String(value).utf8)
                case .double(let value): bytes += [2] + Array(String(value).utf8)
                case .text(let value): bytes += [3] + Array(String(value.utf8.count).utf8) + [58] + Array(value.utf8)
                case .blob(let value): bytes += [4] + Array(String(value.count).utf8) + [58] + value
                }
                bytes.append(0xFF)
            }
            digests.append(Digest.sha256(bytes))
        }
        digests.sort { $0.lexicographicallyPrecedes($1) }
        return Table(name: table, rows: digests.count, checksum: Digest.hex(Digest.sha256(digests.flatMap { $0 })))
    }

    /// PostgreSQL's identity columns continue after the copied ids (SQLite's
    /// rowids do by themselves).
    static func resetIdentities(_ db: any Database, tables: [TableShape]) throws {
        guard db.dialect == .postgres else { return }
        for table in tables where table.columns.contains("id") {
            let sequence = try db.queryFirst("SELECT pg_get_serial_sequence(?, 'id')", [.text(table.name)]) { $0.optionalString(0) } ?? nil
            guard let sequence else { continue }
            _ = try db.queryFirst(
                "SELECT setval(?::regclass, coalesce((SELECT max(id) FROM \(quoted(table.name))), 0) + 1, false)", [.text(sequence)]
            ) { $0.int64(0) }
        }
    }

    static func quoted(_ name: String) -> String {
        "\"" + name.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}
