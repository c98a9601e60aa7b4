import ArgumentParser
import Arbiter
import JSON
import Storage

/// `arbiter audit --input FILE.jsonl [--json]`: rank a labelled preference file's
/// pairs by how poisoned they look (no raters needed).
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Rank a preference dataset's pairs by how poisoned they look.",
        discussion: """
            Reads TRL (prompt, chosen, rejected), HH-RLHF (chosen, rejected) or OpenAI preference \
            (input, preferred_output, non_preferred_output) lines. Each pair is scored against a reward \
            model trained without it (5 folds) and against word clusters whose pairs go against the rest \
            of the data (prompt triggers, favoured entities). --json prints \
            {"pairs":[{"line":N,"suspicion":S,...}],"clusters":[...],"summary":{...}}, most suspicious first, \
            N the 1-based line in the file. A line that is not a labelled pair is left out and \
            listed under "unreadable" (named on stderr without --json); --strict refuses the \
            file at its first such line instead. HH-RLHF transcripts that part before the last \
            assistant turn are audited on what they share.
            """)

    @Option(help: "The JSONL file to audit.") var input: String?
    @Option(help: "Audit a project's imported labels instead (with --db).") var project: String?
    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print the full report as JSON.") var json = false
    @Option(help: "Pairs to list without --json.") var top = 20
    @Flag(help: "Refuse the file at its first unreadable line (default: report it and audit the rest).") var strict = false

    func validate() throws {
        if top < 1 { throw ArgumentParser.ValidationError("--top must be at least 1") }
        if (input == nil) == (project == nil) { throw ArgumentParser.ValidationError("give --input FILE, or --project NAME (with --db)") }
    }

    func run() throws {
        if let project {
            let (pairs, names) = try Commands.withDatabase(database) { db -> ([DatasetAudit.Pair], [Int: ImportedLabels.PairName]) in
                guard let found = try Projects.find(db, name: project) else {
                    throw CLIError(message: "no project named '\(project)'")
                }
                return try db.snapshot { try ImportedLabels.auditPairs(db, projectID: found.id) }
            }
            guard pairs.count >= DatasetAuditService.minimumPairs else {
                throw CLIError(
                    message:
                        "project '\(project)' has \(pairs.count) pairs with imported labels; an audit needs at least \(DatasetAuditService.minimumPairs)"
                )
            }
            print(DatasetAudit.run(pairs), names: names)
            return
        }
        guard let input else { return }
        var reader: JSONLReader
        do { reader = try JSONLReader(path: input) } catch { throw CLIError(message: "\(input): \(error)") }
        defer { reader.close() }
        var reading = DatasetAudit.Reading(strict: strict)
        while true {
            let bytes: ArraySlice<UInt8>?
            do { bytes = try reader.nextLine() } catch { throw CLIError(message: "\(input): \(error)") }
            guard let bytes else { break }
            do throws(Arbiter.ValidationError) {
                try reading.add(bytes, line: reader.lineNumber)
            } catch {
                throw CLIError(message: "\(input): \(error)")
            }
        }
        if !json {
            for entry in reading.unreadable.prefix(Self.unreadableNamed) {
                Output.warning("\(input): line \(entry.line) left out: \(entry.reason)")
            }
            if reading.unreadable.count > Self.unreadableNamed {
                Output.warning("\(input): \(reading.unreadable.count - Self.unreadableNamed) more lines left out (--json lists them all)")
            }
        }
        if let tooFew = reading.tooFew { throw CLIError(message: "\(input): \(tooFew)") }
        let report = reading.run()
        print(report, names: nil)
    }

    /// Unreadable lines named one by one on stderr; the rest are counted.
    static let unreadableNamed = 20

    /// The report; a project's pairs (`names`) by their own ids, a file's by line.
    func print(_ report: DatasetAudit.Report, names: [Int: ImportedLabels.PairName]?) {
        if json {
            Output.line(report.json(names: names).jsonText)
            return
        }
        if !report.unreadable.isEmpty { Output.line("\(report.unreadable.count) lines unreadable and left out") }
        Output.line(
            "\(report.pairs.count) pairs; the reward model trained without each agrees with \(Int((report.modelAccuracy * 100).rounded()))% of the labels"
        )
        for cluster in report.clusters {
            let what =
                cluster.place == .prompt
                ? "prompt word '\(cluster.word)': \(cluster.hits) of \(cluster.pairs) pairs go against the model"
                : "response word '\(cluster.word)': on the chosen side in \(cluster.hits) of \(cluster.pairs) pairs"
            Output.line("cluster: \(what) (p = \(cluster.p))")
        }
        for entry in report.pairs.prefix(top) {
            let name = names.map { "pair \($0[entry.line]?.id ?? String(entry.line))" } ?? "line \(entry.line)"
            Output.line("\(name)\tsuspicion \(Double((entry.suspicion * 1000).rounded()) / 1000)\t" + entry.reasons.joined(separator: "; "))
        }
    }
}
