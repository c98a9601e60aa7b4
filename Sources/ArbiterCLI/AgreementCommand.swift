import ArgumentParser
import Agreement
import Arbiter
import JSON
import Storage

/// `arbiter agreement`: inter-annotator agreement of a project.
struct AgreementCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "agreement", abstract: "Inter-annotator agreement of a project.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The project's name.") var project: String
    @Flag(help: "Print the full report as JSON.") var json = false
    @Option(help: "Bootstrap resamples for the 95% intervals.") var bootstrap = 1000
    @Option(help: "Seed for the bootstrap.") var seed: UInt64 = 42

    func validate() throws {
        guard (0...100_000).contains(bootstrap) else { throw ArgumentParser.ValidationError("--bootstrap must be between 0 and 100000") }
    }

    func run() throws {
        let agreement = try Commands.withDatabase(database) { db -> ProjectAgreement in
            guard let found = try Projects.find(db, name: project) else {
                throw CLIError(message: "no project named '\(project)'")
            }
            return try db.snapshot { try AgreementService.agreement(db, projectID: found.id, bootstrap: bootstrap, seed: seed) }
        }
        if json {
            Output.line(agreement.json.jsonText)
            return
        }
        // The typed report, as the API renders it (no JSON read back by key).
        let report = agreement.report
        func show(_ value: Double?) -> String {
            guard let value, value.isFinite else { return "undefined" }
            return String(Double(Int((value * 1000).rounded())) / 1000)
        }
        Output.line("\(report.units) pairs, \(report.judgements) judgements, \(report.raters) raters")
        for level in [Krippendorff.Level.nominal, .ordinal, .interval] {
            let interval = (report.alphaCI95[level] ?? nil).map { " [\(show($0.low)), \(show($0.high))]" } ?? ""
            Output.line("Krippendorff's alpha (\(level.rawValue)): \(show(report.alpha[level] ?? nil))\(interval)")
        }
        Output.line("Fleiss' kappa: \(show(report.fleiss.value)) over \(report.fleiss.pairs) pairs × \(report.fleiss.ratersPerPair) raters")
        Output.line("percent agreement: \(show(report.percentAgreement))")
    }
}

/// `arbiter raters`: rater quality and poisoning signals of a project.
struct RatersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "raters", abstract: "Rater quality and poisoning signals of a project.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The project's name.") var project: String
    @Flag(help: "Print the full report as JSON.") var json = false

    func run() throws {
        let report = try Commands.withDatabase(database) { db -> RaterReport in
            guard let found = try Projects.find(db, name: project) else {
                throw CLIError(message: "no project named '\(project)'")
            }
            return try db.snapshot { try RaterQuery.report(db, projectID: found.id) }
        }
        if json {
            Output.line(report.json.jsonText)
            return
        }
        let crowd = report.crowd
        Output.line(
            "crowd model: \(Int((crowd.honestShare * 100).rounded()))% honest; \(crowd.flagged) flagged, of whom about "
                + "\(Double((crowd.expectedFalseFlags * 100).rounded()) / 100) expected honest; \(crowd.notEnoughEvidence) without enough evidence yet"
        )
        for rater in report.raters {
            let status = rater.status == "ok" && !rater.enoughEvidence ? "ok (too few judgements to tell from chance yet)" : rater.status
            let honest = rater.honestProbability.map { "\tP(honest) \(Double(($0 * 1000).rounded()) / 1000)" } ?? ""
            var line =
                "\(rater.annotator)\t\(rater.annotations) judgements\t\(status)\tsuspicion \(Int((rater.suspicion * 100).rounded()))%\(honest)"
            for reason in rater.reasons { line += "\n    \(reason.signal): \(reason.detail)" }
            Output.line(line)
        }
    }
}
