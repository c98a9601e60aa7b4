import ArgumentParser
import Arbiter
import JSON
import Storage

/// `arbiter project create|list`.
struct ProjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project", abstract: "Create and list projects.", subcommands: [Create.self, List.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a project.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The project's unique name.") var name: String
        @Option(help: "Judgements wanted per pair (1-100); with --min-overlap, the most a pair gets.") var overlap = 3
        @Option(name: .customLong("min-overlap"), help: "Adaptive overlap: the fewest judgements a pair gets.") var minOverlap: Int?
        @Option(name: .customLong("stop-agree"), help: "Adaptive: stop once the leading answer is K votes ahead.") var stopAgree: Int?
        @Option(
            name: .customLong("stop-posterior"),
            help:
                "Adaptive: stop once the leading answer's weighted posterior reaches P (without it and --stop-agree: a threshold chosen for this crowd)."
        )
        var stopPosterior: Double?
        @Flag(name: .customLong("active-selection"), help: "Offer the pairs a background reward model is least sure about first.")
        var activeSelection = false
        @Option(name: .customLong("active-random-share"), help: "Active selection: share of fresh pairs drawn at random (0-1).")
        var activeRandomShare = 0.2
        @Option(name: .customLong("active-retrain-every"), help: "Active selection: retrain after this many judgements.")
        var activeRetrainEvery = 500
        @Option(name: .customLong("lease-ttl"), help: "Seconds an annotator holds a pair.") var leaseTTL = 600
        @Option(name: .customLong("gold-rate"), help: "Share of assignments that are gold pairs (0-1).") var goldRate = 0.0
        @Option(name: .customLong("repeat-rate"), help: "Share of assignments that repeat a judged pair (0-1).") var repeatRate = 0.0
        @Option(
            name: .customLong("repeat-after-judgements"), help: "A repeat comes back only after this many other judgements of the rater.")
        var repeatAfterJudgements = 20
        @Option(name: .customLong("repeat-after-minutes"), help: "...and this many minutes after the first judgement.")
        var repeatAfterMinutes = 30
        @Option(help: "Comma-separated aspects, e.g. helpfulness,harmlessness.") var aspects = ""
        @Option(name: .customLong("guidelines-file"), help: "Markdown guidelines for annotators.") var guidelinesFile: String?
        @Flag(name: .customLong("no-ties"), help: "Do not allow ties.") var noTies = false
        @Flag(name: .customLong("no-both-bad"), help: "Do not allow 'both bad'.") var noBothBad = false
        @Flag(name: .customLong("no-strength"), help: "Do not ask for strength.") var noStrength = false
        @Flag(name: .customLong("rationale-required"), help: "Require a rationale.") var rationaleRequired = false
        @Option(name: .customLong("max-per-annotator"), help: "Most judgements one annotator gives in the project (default 0: no cap).")
        var maxPerAnnotator = 0
        @Flag(name: .customLong("strength-required"), help: "Require a strength with every decisive choice.") var strengthRequired = false
        @Flag(name: .customLong("aspects-required"), help: "Require an answer for every aspect.") var aspectsRequired = false
        @Option(help: "What annotators do: pairwise (A versus B), ranking (order 2-9 responses) or rating (score each response).")
        var kind = "pairwise"
        @Option(help: "Rating projects: comma-separated attributes, e.g. helpfulness,correctness,coherence.") var attributes = ""
        @Option(help: "Rating projects: the scale, MIN-MAX (e.g. 0-4, 1-5, -2-2).") var scale = "0-4"
        @Option(name: .customLong("scale-labels"), help: "Rating projects: comma-separated labels, one per scale point.")
        var scaleLabels = ""
        @Flag(help: "Ask annotators to rewrite the best response into a better one (optional for them).") var rewrite = false
        @Flag(
            name: .customLong("count-judges"),
            help: "Count model judges' verdicts (weighted by estimated accuracy) in exports and adaptive overlap.")
        var countJudges = false
        @Flag(help: "Print {\"id\":...,\"name\":...}.") var json = false

        func run() throws {
            var settings = ProjectSettings()
            settings.countJudges = countJudges
            settings.overlap = overlap
            settings.minOverlap = minOverlap
            settings.stopAgree = stopAgree
            settings.stopPosterior = stopPosterior
            settings.activeSelection = activeSelection
            settings.activeRandomShare = activeRandomShare
            settings.activeRetrainEvery = activeRetrainEvery
            settings.leaseTTLSeconds = leaseTTL
            settings.goldRate = goldRate
            settings.repeatRate = repeatRate
            settings.repeatAfterJudgements = repeatAfterJudgements
            settings.repeatAfterMinutes = repeatAfterMinutes
            settings.aspects = aspects.split(separator: ",").map { String($0).trimmingCharacters() }.filter { !$0.isEmpty }
            settings.allowTies = !noTies
            settings.allowBothBad = !noBothBad
            settings.strengthEnabled = !noStrength
            settings.rationaleRequired = rationaleRequired
            settings.maxPerAnnotator = maxPerAnnotator
            settings.strengthRequired = strengthRequired
            settings.aspectsRequired = aspectsRequired
            guard let taskKind = TaskKind(rawValue: kind) else {
                throw CLIError(message: "--kind: expected pairwise, ranking or rating, got '\(kind)'")
            }
            settings.kind = taskKind
            settings.attributes = attributes.split(separator: ",").map { String($0).trimmingCharacters() }.filter { !$0.isEmpty }
            guard let range = Self.scaleRange(scale) else {
                throw CLIError(message: "--scale: expected MIN-MAX with whole numbers, e.g. 0-4, got '\(scale)'")
            }
            (settings.scaleMin, settings.scaleMax) = range
            settings.scaleLabels = scaleLabels.split(separator: ",", omittingEmptySubsequences: false).map {
                String($0).trimmingCharacters()
            }
            if scaleLabels.isEmpty { settings.scaleLabels = [] }
            settings.rewrite = rewrite
            if let guidelinesFile {
                guard let text = TextFile.read(guidelinesFile) else { throw CLIError(message: "cannot read \(guidelinesFile)") }
                settings.guidelines = text
            }
            let project = try Commands.withDatabase(database) { db in
                try db.transaction {
                    try ProjectService.create(db, name: name, settings: settings, actor: nil, via: "cli", now: Clock.nowMilliseconds())
                }
            }
            if json {
                Output.line(JSONValue.object(["id": .int(Int64(project.id)), "name": .string(project.name)]).jsonText)
            } else {
                Output.line("created project \(project.id) '\(project.name)'")
            }
        }

        /// "0-4", "1-5", "-2-2": two whole numbers joined by a dash.
        static func scaleRange(_ text: String) -> (Int, Int)? {
            let bytes = Array(text.utf8)
            for index in bytes.indices.dropFirst() where bytes[index] == UInt8(ascii: "-") {
                if let low = Int(String(decoding: bytes[..<index], as: UTF8.self)),
                    let high = Int(String(decoding: bytes[(index + 1)...], as: UTF8.self))
                {
                    return (low, high)
                }
            }
            return nil
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List projects.")

        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let projects = try Commands.withDatabase(database) { db in try Projects.list(db) }
            if json {
                Output.line(JSONValue.array(projects.map(\.json)).jsonText)
                return
            }
            for entry in projects {
                Output.line("\(entry.project.id)\t\(entry.project.name)\t\(entry.pairs) pairs\t\(entry.annotations) annotations")
            }
        }
    }
}

extension String {
    func trimmingCharacters() -> String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice = slice.dropFirst() }
        while slice.last?.isWhitespace == true { slice = slice.dropLast() }
        return String(slice)
    }
}
