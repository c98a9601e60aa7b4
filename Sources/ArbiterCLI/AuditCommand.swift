import ArgumentParser
import Arbiter
import JSON

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
            N the 1-based line in the file.
            """)

    @Option(help: "The JSONL file to audit.") var input: String
    @Flag(help: "Print the full report as JSON.") var json = false
    @Option(help: "Pairs to list without --json.") var top = 20

    func validate() throws {
        if top < 1 { throw ArgumentParser.ValidationError("--top must be at least 1") }
    }

    func run() throws {
        var reader: JSONLReader
        do { reader = try JSONLReader(path: input) } catch { throw CLIError(message: "\(input): \(error)") }
        defer { reader.close() }
        var pairs: [DatasetAudit.Pair] = []
        while true {
            let bytes: ArraySlice<UInt8>?
            do { bytes = try reader.nextLine() } catch { throw CLIError(message: "\(input): \(error)") }
            guard let bytes else { break }
            let line = reader.lineNumber
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let value: JSONValue
            do {
                value = try bytes.withUnsafeBufferPointer { buffer throws(JSONError) in try JSONValue.parse(buffer) }
            } catch {
                throw CLIError(message: "\(input): line \(line): invalid JSON: \(error)")
            }
            guard let object = value.objectValue else { throw CLIError(message: "\(input): line \(line): expected a JSON object") }
            do {
                pairs.append(try DatasetAudit.pair(object, line: line))
            } catch {
                throw CLIError(message: "\(input): line \(line): \(error)")
            }
        }
        guard pairs.count >= 10 else { throw CLIError(message: "\(input): \(pairs.count) labelled pairs; an audit needs at least 10") }
        let report = DatasetAudit.run(pairs)
        if json {
            Output.line(report.json.jsonText)
            return
        }
        Output.line("\(pairs.count) pairs; the reward model trained without each agrees with \(Int((report.modelAccuracy * 100).rounded()))% of the labels")
        for cluster in report.clusters {
            let what = cluster.place == .prompt
                ? "prompt word '\(cluster.word)': \(cluster.hits) of \(cluster.pairs) pairs go against the model"
                : "response word '\(cluster.word)': on the chosen side in \(cluster.hits) of \(cluster.pairs) pairs"
            Output.line("cluster: \(what) (p = \(cluster.p))")
        }
        for entry in report.pairs.prefix(top) {
            Output.line("line \(entry.line)\tsuspicion \(Double((entry.suspicion * 1000).rounded()) / 1000)\t" + entry.reasons.joined(separator: "; "))
        }
    }
}
