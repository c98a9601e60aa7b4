import ModelEndpoints
import ArgumentParser
import Arbiter
import Glibc
import JSON
import Storage

/// `arbiter generate`: responses from models for a file of prompts, into a project.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Fill a project with responses from OpenAI-compatible endpoints for a file of prompts.",
        discussion: """
            Each prompt line {"id", "prompt"} gets one streamed response from each endpoint; a pairwise \
            project then gets every pair of them (model_a/model_b named, id PROMPT:A-B), a ranking or rating \
            project one task (id PROMPT). Endpoints come from a server-side file (see docs/LEADERBOARD.md); \
            API keys stay there or in the environment. Prompts already generated are skipped, so a run that \
            stopped or partly failed is run again.
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The project's name.") var project: String
    @Option(name: .customLong("endpoints-file"), help: "The endpoints file ({\"endpoints\":[...]}).") var endpointsFile: String
    @Option(help: "Comma-separated endpoint names to ask (at least two).") var endpoints: String
    @Option(help: "The prompts file (JSONL).") var prompts: String
    @Option(help: "Requests at a time.") var concurrency = 4
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard (1...64).contains(concurrency) else { throw ArgumentParser.ValidationError("--concurrency must be between 1 and 64") }
    }

    func run() throws {
        let configured = try Self.endpoints(file: endpointsFile).endpoints
        var chosen: [ModelEndpoint] = []
        for name in endpoints.split(separator: ",").map({ String($0).trimmingCharacters() }) where !name.isEmpty {
            guard let endpoint = configured.first(where: { $0.name == name }) else {
                throw CLIError(
                    message:
                        "--endpoints: no endpoint named '\(name)' in \(endpointsFile) (it has \(configured.map(\.name).joined(separator: ", ")))"
                )
            }
            chosen.append(endpoint)
        }
        var reader: JSONLReader
        do {
            reader = try JSONLReader(path: prompts)
        } catch {
            throw CLIError(message: "cannot read \(prompts)")
        }
        defer { reader.close() }
        let report = try Commands.withDatabase(database) { db -> Generator.Report in
            guard let found = try Projects.find(db, name: project) else {
                throw CLIError(message: "no project named '\(project)'")
            }
            return try Generator.run(db, project: found, endpoints: chosen, prompts: &reader, concurrency: concurrency) { progress in
                Output.progress(
                    "generated \(progress.generated), skipped \(progress.skipped), failed \(progress.failures.count) of \(progress.prompts) prompts read"
                )
            }
        }
        if json {
            Output.line(report.json.jsonText)
        } else {
            Output.line(
                "\(report.generated) prompts generated (\(report.rows) rows), \(report.skipped) already there, \(report.failures.count) failed"
            )
        }
        if let first = report.failures.first {
            throw CLIError(
                message: "\(report.failures.count) prompt(s) failed (line \(first.line): \(first.message)); run again to retry them")
        }
    }
}

extension GenerateCommand {
    /// Reads an endpoints file (for `generate` and `serve --endpoints-file`); keys
    /// named by `api_key_env` come from the environment.
    static func endpoints(file: String) throws -> ModelPool {
        guard let text = TextFile.read(file) else { throw CLIError(message: "cannot read \(file)") }
        do {
            let parsed = try JSONValue.parse(Array(text.utf8))
            return try ModelPool.load(json: parsed) { name in getenv(name).map { String(cString: $0) } }
        } catch let error as Arbiter.ValidationError {
            throw CLIError(message: "\(file): \(error.message)")
        } catch {
            throw CLIError(message: "\(file): invalid JSON")
        }
    }
}
