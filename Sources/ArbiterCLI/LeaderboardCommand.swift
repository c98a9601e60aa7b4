import ArgumentParser
import Arbiter
import JSON
import Storage

/// `arbiter leaderboard --db PATH --project NAME [--json]`: the project's models
/// ranked by a Bradley–Terry fit over its votes (Chatbot Arena's method).
struct LeaderboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leaderboard",
        abstract: "Rank a project's models by a Bradley–Terry fit over its votes.",
        discussion: """
            Every judged pair whose responses name their models (model_a, model_b) is a battle: A or B \
            a win, a tie or "both bad" half a win each way; quarantined raters are left out and counted. \
            Scores are on the Elo-like scale (400·log10 odds, mean 1000) with bootstrap 95% intervals. \
            --json prints {"models":[{"model","score","ci95":[lo,hi],"votes",...}],"battles",...}, best first.
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The project's name.") var project: String
    @Flag(help: "Print the full leaderboard as JSON.") var json = false
    @Option(help: "Bootstrap resamples for the 95% intervals (0: none).") var bootstrap = 1000
    @Option(help: "Seed for the bootstrap.") var seed: UInt64 = 42
    @Flag(name: .customLong("style-control"), help: "Control for response length (a covariate, as Chatbot Arena's style control).")
    var styleControl = false

    func validate() throws {
        guard (0...100_000).contains(bootstrap) else { throw ArgumentParser.ValidationError("--bootstrap must be between 0 and 100000") }
    }

    func run() throws {
        let board = try Commands.withDatabase(database) { db -> Leaderboard in
            guard let found = try Projects.find(db, name: project) else {
                throw CLIError(message: "no project named '\(project)'")
            }
            return try db.snapshot {
                try LeaderboardService.compute(db, projectID: found.id, bootstrap: bootstrap, seed: seed, styleControl: styleControl)
            }
        }
        if json {
            Output.line(board.json.jsonText)
            return
        }
        if let message = board.message { Output.line(message) }
        for (rank, entry) in board.models.enumerated() {
            let score = entry.score.map { String(Int($0.rounded())) } ?? "—"
            let interval = entry.ci95.map { " [\(Int($0.low.rounded())), \(Int($0.high.rounded()))]" } ?? ""
            Output.line("\(rank + 1)\t\(entry.model)\t\(score)\(interval)\t\(entry.votes) votes")
        }
        Output.line("\(board.battles) battles; left out: \(board.excludedVotes) votes of \(board.quarantinedRaters) quarantined rater(s)")
    }
}
