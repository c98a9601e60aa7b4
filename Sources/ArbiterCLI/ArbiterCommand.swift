import ArgumentParser
import Glibc
import Storage

/// `arbiter`: the command line. Parsing and printing only; the work lives in the
/// Arbiter module.
@main
struct ArbiterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arbiter",
        abstract: "Collect human preference judgements for RLHF and DPO.",
        subcommands: [
            Serve.self, ProjectCommand.self, UserCommand.self, TokenCommand.self, ImportCommand.self, AgreementCommand.self,
            RatersCommand.self, AuditCommand.self, LeaderboardCommand.self, GenerateCommand.self, ExportCommand.self, TrainCommand.self,
            ScoreCommand.self, BackupCommand.self, RestoreCommand.self, DatabaseCommand.self, WebhookCommand.self,
        ]
    )
}

/// `--db` and `--migrations-dir`, shared by every command that opens the database.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("db"),
        help: ArgumentHelp(
            "The database: a SQLite file, or postgres://user@host:port/dbname (default: $ARBITER_DATABASE_URL, else arbiter.sqlite).",
            valueName: "path-or-url"))
    var explicitDatabase: String?

    /// `--db`, else `ARBITER_DATABASE_URL`, else `arbiter.sqlite`.
    var db: String {
        if let explicitDatabase { return explicitDatabase }
        if let variable = getenv("ARBITER_DATABASE_URL"), variable.pointee != 0 { return String(cString: variable) }
        return "arbiter.sqlite"
    }

    var location: DatabaseLocation { DatabaseLocation(db) }

    @Option(name: .customLong("migrations-dir"), help: "Directory of SQL migrations (default: ./Migrations or next to the executable).")
    var migrationsDir: String?
}

/// A failure reported as one line on stderr with a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
