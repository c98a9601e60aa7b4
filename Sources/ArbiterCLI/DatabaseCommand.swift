import ArgumentParser
import Arbiter
import Glibc
import JSON
import Storage

/// `arbiter db`: moving data between engines.
struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Move a database between SQLite and PostgreSQL.", subcommands: [Copy.self])

    /// `arbiter db copy --from A --to B`: every table, verified by checksum, into an empty target.
    struct Copy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Copy every table into an empty database (SQLite file ↔ postgres:// URL), verified row for row by per-table checksums.")

        @Option(help: ArgumentHelp("The database to copy: a SQLite file or a postgres:// URL.", valueName: "path-or-url"))
        var from: String

        @Option(
            help: ArgumentHelp(
                "The empty database to fill: a new SQLite file or a postgres:// URL of an empty database.", valueName: "path-or-url"))
        var to: String

        @Option(name: .customLong("migrations-dir"), help: "Directory of SQL migrations (default: ./Migrations or next to the executable).")
        var migrationsDir: String?

        @Flag(help: "Print the report as JSON.") var json = false

        func run() throws {
            let source = DatabaseLocation(from), target = DatabaseLocation(to)
            guard source != target else { throw CLIError(message: "--from and --to name the same database") }
            if case .sqlite(let path) = source, access(path, R_OK) != 0 { throw CLIError(message: "\(path): no such database") }
            do {
                let migrations = try Locations.migrationsDirectory(migrationsDir)
                let sourceDB = try ArbiterStore.openConnection(source, migrationsRoot: migrations)
                let targetDB = try ArbiterStore.openConnection(target, migrationsRoot: migrations)
                let report = try DatabaseCopy.run(
                    from: sourceDB, to: targetDB, derived: ArbiterStore.derivedTables, tallied: ArbiterStore.talliedTables
                ) { table, rows in
                    if !json { Output.line("\(table): \(rows) rows") }
                }
                if json {
                    let tables: [JSONValue] = report.tables.map {
                        ["name": .string($0.name), "rows": .int(Int64($0.rows)), "checksum": .string($0.checksum)]
                    }
                    Output.line(
                        String(
                            decoding: JSONValue.object(["tables": .array(tables), "rows": .int(Int64(report.rows)), "verified": true])
                                .serialized(), as: UTF8.self))
                } else {
                    Output.line(
                        "copied \(report.rows) rows in \(report.tables.count) tables from \(source) to \(target); every table's checksum matches"
                    )
                }
            } catch let error as CLIError {
                throw error
            } catch {
                throw CLIError(message: "\(error)")
            }
        }
    }
}
