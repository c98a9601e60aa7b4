import Glibc

/// Applies `Migrations/NNNN_name.sql` files in order, once each.
///
/// Applied identifiers and SHA-256 checksums live in `schema_migrations`. A file
/// that was applied and has since been edited, or an applied identifier with no
/// file, is refused: the schema would no longer be what the code expects.
public struct Migrator: Sendable {
    /// One migration file.
    public struct Migration: Sendable, Equatable {
        /// The file name without `.sql`, e.g. `0001_initial`.
        public let identifier: String
        public let sql: String
        public let checksum: String
    }

    /// What went wrong, in one line.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The migrations, in order.
    public let migrations: [Migration]

    /// Reads every `NNNN_name.sql` in `directory`.
    public init(directory: String) throws(Failure) {
        guard let dir = opendir(directory) else {
            throw Failure(description: "cannot open migrations directory \(directory)")
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasSuffix(".sql") else { continue }
            let stem = String(name.dropLast(4))
            guard stem.count > 5, stem.prefix(4).allSatisfy(\.isNumber), stem.dropFirst(4).first == "_" else {
                throw Failure(description: "migration file \(name) is not named NNNN_name.sql")
            }
            names.append(name)
        }
        var migrations: [Migration] = []
        for name in names.sorted() {
            guard let sql = TextFile.read(directory + "/" + name) else {
                throw Failure(description: "cannot read migration \(name)")
            }
            migrations.append(Migration(identifier: String(name.dropLast(4)), sql: sql, checksum: Digest.hex(Digest.sha256(sql))))
        }
        let identifiers = migrations.map { $0.identifier.prefix(4) }
        if Set(identifiers).count != identifiers.count {
            throw Failure(description: "two migrations share a number in \(directory)")
        }
        self.migrations = migrations
    }

    /// Migrations given directly (tests).
    public init(migrations: [(identifier: String, sql: String)]) {
        self.migrations = migrations.map {
            Migration(identifier: $0.identifier, sql: $0.sql, checksum: Digest.hex(Digest.sha256($0.sql)))
        }
    }

    /// Applies what is missing. Returns the identifiers applied now.
    @discardableResult
    public func migrate(_ db: any Database) throws -> [String] {
        // Nodes of a cluster starting together: one migrates, the others wait and find it done.
        guard db.dialect == .postgres else { return try apply(db) }
        _ = try db.queryFirst("SELECT pg_advisory_lock(?)", [.int(Self.lockKey)]) { _ in true }
        defer { _ = try? db.queryFirst("SELECT pg_advisory_unlock(?)", [.int(Self.lockKey)]) { _ in true } }
        return try apply(db)
    }

    /// The advisory lock key migrations hold on PostgreSQL ("arbiter" in ASCII).
    static let lockKey: Int64 = 0x61_72_62_69_74_65_72

    private func apply(_ db: any Database) throws -> [String] {
        let now =
            db.dialect == .sqlite
            ? "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
            : #"to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
        try db.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                identifier TEXT PRIMARY KEY,
                checksum TEXT NOT NULL,
                applied_at TEXT NOT NULL DEFAULT (\(now))
            )
            """)
        let applied = try db.query("SELECT identifier, checksum FROM schema_migrations ORDER BY identifier") {
            (identifier: $0.string(0), checksum: $0.string(1))
        }
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.identifier, $0) })
        for record in applied {
            guard let migration = known[record.identifier] else {
                throw Failure(
                    description:
                        "the database has migration \(record.identifier) applied, which this version does not know; refusing to run against a newer schema"
                )
            }
            guard migration.checksum == record.checksum else {
                throw Failure(
                    description:
                        "migration \(record.identifier) was edited after it was applied (checksum differs); add a new migration instead")
            }
        }
        let appliedSet = Set(applied.map(\.identifier))
        var done: [String] = []
        for migration in migrations where !appliedSet.contains(migration.identifier) {
            // > Each file runs in one BEGIN IMMEDIATE transaction: all of it, or none.
            do {
                try db.transaction {
                    try db.execute(migration.sql)
                    try db.run(
                        "INSERT INTO schema_migrations(identifier, checksum) VALUES (?, ?)",
                        [.text(migration.identifier), .text(migration.checksum)])
                }
            } catch let error as SQLiteError {
                throw Failure(description: "migration \(migration.identifier) failed: \(error.message)")
            } catch let error as PostgresError {
                throw Failure(description: "migration \(migration.identifier) failed: \(error.message)")
            }
            done.append(migration.identifier)
        }
        return done
    }
}
