import ArgumentParser

/// `arbiter`: the command line. Parsing and printing only; the work lives in the
/// Arbiter module.
@main
struct ArbiterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arbiter",
        abstract: "Collect human preference judgements for RLHF and DPO.",
        subcommands: [Serve.self, ProjectCommand.self, UserCommand.self, TokenCommand.self, ImportCommand.self, AgreementCommand.self, RatersCommand.self, ExportCommand.self, TrainCommand.self, ScoreCommand.self, BackupCommand.self, RestoreCommand.self]
    )
}

/// `--db` and `--migrations-dir`, shared by every command that opens the database.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "The SQLite database file.")
    var db = "arbiter.sqlite"

    @Option(name: .customLong("migrations-dir"), help: "Directory of SQL migrations (default: ./Migrations or next to the executable).")
    var migrationsDir: String?
}

/// A failure reported as one line on stderr with a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
