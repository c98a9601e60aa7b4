import ArgumentParser
import Arbiter
import Storage
import Glibc

/// `arbiter import pairs|annotations`.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import pairs or annotations from JSONL.", subcommands: [Pairs.self, Annotations.self])

    struct Common: ParsableArguments {
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The project's name.") var project: String
        @Flag(name: .customLong("skip-invalid"), help: "Import the good lines and report the bad ones.") var skipInvalid = false
        @Flag(name: .customLong("dry-run"), help: "Check every line, write nothing.") var dryRun = false
        @Argument(help: "The JSONL file.") var file: String
    }

    struct Pairs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import pairs (plain, TRL, multi-response or HH-RLHF lines).")

        @OptionGroup var common: Common
        @Option(name: .customLong("pairs-per-prompt"), help: "Multi-response lines: pairs per prompt (default: all).") var pairsPerPrompt:
            Int?

        func validate() throws {
            if let pairsPerPrompt, pairsPerPrompt < 1 { throw ArgumentParser.ValidationError("--pairs-per-prompt must be at least 1") }
        }

        func run() throws {
            var options = ImportOptions()
            options.skipInvalid = common.skipInvalid
            options.dryRun = common.dryRun
            options.pairsPerPrompt = pairsPerPrompt
            try ImportCommand.run(common) { db, project, reader in
                try ImportService.pairs(db, project: project, reader: &reader, options: options, actor: nil, now: Clock.nowMilliseconds())
            }
        }
    }

    struct Annotations: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import annotations (judgements made elsewhere).")

        @OptionGroup var common: Common

        func run() throws {
            var options = ImportOptions()
            options.skipInvalid = common.skipInvalid
            options.dryRun = common.dryRun
            try ImportCommand.run(common) { db, project, reader in
                try ImportService.annotations(
                    db, project: project, reader: &reader, options: options, actor: nil, now: Clock.nowMilliseconds())
            }
        }
    }

    static func run(_ common: Common, _ body: (any Database, Project, inout JSONLReader) throws -> ImportReport) throws {
        var reader = try JSONLReader(path: common.file)
        defer { reader.close() }
        do {
            let report = try Commands.withDatabase(common.database) { db -> ImportReport in
                guard let project = try Projects.find(db, name: common.project) else {
                    throw CLIError(message: "no project named '\(common.project)'")
                }
                return try body(db, project, &reader)
            }
            for error in report.errors { Commands.printError(error) }
            Output.line((common.dryRun ? "dry run: " : "") + report.summary)
            if common.dryRun && report.errorCount > 0 { throw ExitCode(1) }
        } catch let refused as ImportRefused {
            for error in refused.report.errors { Commands.printError(error) }
            if refused.report.errorCount > refused.report.errors.count {
                Commands.printError("... and \(refused.report.errorCount - refused.report.errors.count) more")
            }
            throw CLIError(message: refused.description)
        }
    }
}
