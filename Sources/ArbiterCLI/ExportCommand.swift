import ArgumentParser
import Arbiter
import JSON
import Storage

/// `arbiter export`: a preference dataset and its manifest.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export a preference dataset with a manifest.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The project's name.") var project: String
    @Option(help: ArgumentHelp("One of: \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")).")) var format: String
    @Option(help: "The data file to write (the manifest goes beside it).") var out: String
    @Option(help: "weighted (Dawid–Skene) or majority.") var aggregate = "weighted"
    @Option(name: .customLong("min-agreement"), help: "Drop pairs whose winning share is below this (0–1).") var minAgreement = 0.0
    @Flag(name: .customLong("include-flagged"), help: "Keep raters the detector flagged.") var includeFlagged = false
    @Flag(
        name: .customLong("include-judges"), inversion: .prefixedNo,
        help: "Count model judges' verdicts, weighted by their estimated accuracy (default: the project's count_judges).")
    var includeJudges: Bool?
    @Option(help: "Write train/test files, e.g. test=0.1.") var split: String?
    @Option(help: "Seed of the split.") var seed: UInt64 = 0
    @Flag(help: "Add TRL's margin column.") var margin = false
    @Option(name: .customLong("reward-model"), help: "Train a reward model on the exported pairs into this directory.") var rewardModel:
        String?
    @Option(name: .customLong("ranking-pairs"), help: "Ranking projects: all implied pairs (weight 1/C(K,2)) or adjacent ones.")
    var rankingPairs = "all"
    @Option(name: .customLong("min-gap"), help: "Rating projects: smallest gap in mean score that makes a pair.") var minGap = 1.0
    @Flag(name: .customLong("rewrite-pairs"), help: "Add \"rewritten > original\" pairs (projects with rewrites).") var rewritePairs = false
    @Option(
        name: .customLong("reward-loss"),
        help: "Ranking and rating projects: auto (Plackett–Luce on rankings, regression on ratings) or pairs.")
    var rewardLoss = "auto"
    @OptionGroup(title: "Reward model") var training: RewardTrainingFlags

    func run() throws {
        var fields: [String: ExportRequest.Field] = [
            "format": .text(format), "aggregate": .text(aggregate), "min_agreement": .text(String(minAgreement)),
            "include_flagged": .text(String(includeFlagged)), "margin": .text(String(margin)), "seed": .text(String(seed)),
            "ranking_pairs": .text(rankingPairs), "reward_loss": .text(rewardLoss), "min_gap": .text(String(minGap)),
            "rewrite_pairs": .text(String(rewritePairs)),
        ]
        fields.merge(training.fields) { _, flag in flag }
        if let rewardModel { fields["reward_model"] = .text(rewardModel) }
        if let includeJudges { fields["include_judges"] = .text(String(includeJudges)) }
        if let split {
            let parts = split.split(separator: "=")
            guard parts.count == 2, parts[0] == "test", let fraction = Double(parts[1]), fraction > 0, fraction < 1 else {
                throw CLIError(message: "--split must look like test=0.1")
            }
            fields["test_fraction"] = .text(String(fraction))
        }
        let options: ExportOptions
        do {
            options = try ExportRequest(fields: fields, door: .commandLine).options
        } catch {
            // The same message as the API's, naming the flag: "--min-agreement: a number from 0 to 1".
            let field = error.message.prefix { $0 != ":" }
            throw CLIError(message: "--" + String(field.map { $0 == "_" ? "-" : $0 }) + error.message.dropFirst(field.count))
        }
        let manifest = try Commands.withDatabase(database) { db -> ExportManifest in
            guard let found = try Projects.find(db, name: project) else {
                throw CLIError(message: "no project named '\(project)'")
            }
            return try ExportService.export(
                db, project: found, options: options, out: out, actor: nil, via: "cli", now: Clock.nowMilliseconds())
        }
        for file in manifest.files { Output.line("\(file.path): \(file.lines) lines, sha256 \(file.sha256)") }
        if manifest.files.count == 2, manifest.files[1].lines == 0 {
            Output.warning("the test split is empty: the export has \(manifest.files[0].lines) line(s), too few to hold any out")
        }
        Output.line("manifest: \(out).manifest.json")
        if let rewardModel, let metrics = manifest.rewardModel?.metrics { Output.metricsSummary(metrics, out: rewardModel) }
    }
}
