import ArgumentParser
import Glibc
import Storage

/// `arbiter backup`: an online, consistent copy while the server keeps writing.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Copy the database to a file while the server runs (SQLite's online backup API).")

    @Option(help: "The SQLite database file.") var db = "arbiter.sqlite"
    @Option(help: "The backup file to write (must not exist).") var out: String

    func run() throws {
        if case .postgres = DatabaseLocation(db) {
            throw CLIError(
                message: "backup copies SQLite files; back up PostgreSQL with pg_dump or its continuous archiving (docs/OPERATIONS.md)")
        }
        guard access(db, R_OK) == 0 else { throw CLIError(message: "\(db): no such database") }
        guard access(out, F_OK) != 0 else { throw CLIError(message: "\(out) exists; choose a new file name") }
        let report = try Backup.create(from: db, to: out)
        Output.line("backup \(out): \(report.pages) pages, \(report.bytes) bytes, integrity ok")
    }
}

/// `arbiter restore`: a backup back into place (stop the server first).
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore a backup into a database file (stop the server first).")

    @Option(help: "The backup file.") var backup: String
    @Option(help: "The database file to write.") var db = "arbiter.sqlite"
    @Flag(help: "Replace an existing database.") var force = false

    func run() throws {
        guard access(backup, R_OK) == 0 else { throw CLIError(message: "\(backup): no such backup file") }
        if access(db, F_OK) == 0 && !force { throw CLIError(message: "\(db) exists; pass --force to replace it") }
        let report = try Backup.restore(from: backup, to: db)
        Output.line("restored \(db) from \(backup): \(report.pages) pages")
    }
}
