public import Agreement
public import JSON
public import Storage

/// A project's model leaderboard, as Chatbot Arena computes one: a Bradley–Terry
/// fit over every vote between two named models (A or B a win, a tie or "both
/// bad" half a win each way), unregularised, on the Elo-like scale (400·log10
/// odds, mean 1000), with bootstrap 95% intervals, the win-rate matrix and
/// optional style control (the normalised length difference as a covariate).
public struct Leaderboard: Sendable {
    public struct Entry: Sendable {
        public var model: String
        /// nil when the fit has no maximum (see ``message``).
        public var score: Double?
        public var ci95: (low: Double, high: Double)?
        public var votes: Int
        public var wins: Int
        public var losses: Int
        public var ties: Int
    }

    /// Best first (models without a score last, by name).
    public var models: [Entry]
    public var battles: Int
    /// Row model → column model → share of their battles the row model won (ties half).
    public var winRates: [String: [String: Double]]
    /// With style control: the length coefficient (log-odds per unit of normalised difference).
    public var lengthCoefficient: Double?
    public var styleControl: Bool
    public var bootstrap: Int
    public var seed: UInt64
    public var quarantinedRaters: Int
    public var excludedVotes: Int
    public var withoutModels: Int
    /// Why there are no scores, if there are none.
    public var message: String?

    public var json: JSONValue {
        func number(_ value: Double?) -> JSONValue { value.map { .double($0) } ?? .null }
        var object: JSONObject = [
            "models": .array(
                models.map { entry in
                    [
                        "model": .string(entry.model), "score": number(entry.score),
                        "ci95": entry.ci95.map { .array([.double($0.low), .double($0.high)]) } ?? .null,
                        "votes": .int(Int64(entry.votes)), "wins": .int(Int64(entry.wins)), "losses": .int(Int64(entry.losses)),
                        "ties": .int(Int64(entry.ties)),
                    ]
                }),
            "battles": .int(Int64(battles)),
            "win_rates": .object(
                JSONObject(
                    winRates.keys.sorted().map { row in
                        (
                            key: row,
                            value: .object(JSONObject(winRates[row]!.keys.sorted().map { (key: $0, value: .double(winRates[row]![$0]!)) }))
                        )
                    })),
            "style_control": styleControl ? ["length_coefficient": number(lengthCoefficient)] : .null,
            "bootstrap": .int(Int64(bootstrap)), "seed": .int(Int64(bitPattern: seed)),
            "excluded": ["quarantined_raters": .int(Int64(quarantinedRaters)), "votes": .int(Int64(excludedVotes))],
            "judgements_without_models": .int(Int64(withoutModels)),
        ]
        object["message"] = message.map { .string($0) } ?? .null
        return .object(object)
    }
}

public struct LeaderboardService: Sendable {
    let store: ArbiterStore

    public init(store: ArbiterStore) { self.store = store }

    /// The most bootstrap resamples the server computes per request.
    public static let maxServerBootstrap = 2000

    /// Computes a project's leaderboard on `db` (inside the caller's snapshot).
    public static func compute(
        _ db: any Database, projectID: Int, bootstrap: Int = 1000, seed: UInt64 = 42, styleControl: Bool = false
    ) throws -> Leaderboard {
        guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
        let loaded = try LeaderboardVotes.load(db, projectID: projectID)
        return rank(loaded, bootstrap: bootstrap, seed: seed, styleControl: styleControl)
    }

    /// The same on a reader of the server's pool (off the event loops).
    public func compute(
        projectID: Int, bootstrap: Int, seed: UInt64, styleControl: Bool
    ) async throws -> Leaderboard {
        try await store.pool.read { db in
            try Self.compute(db, projectID: projectID, bootstrap: bootstrap, seed: seed, styleControl: styleControl)
        }
    }

    static func rank(_ loaded: LeaderboardVotes, bootstrap: Int, seed: UInt64, styleControl: Bool) -> Leaderboard {
        let names = Array(Set(loaded.votes.flatMap { [$0.modelA, $0.modelB] })).sorted()
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        var tallies = Array(repeating: (votes: 0, wins: 0, losses: 0, ties: 0), count: names.count)
        var pairScores: [String: [String: (score: Double, count: Double)]] = [:]
        var votes: [BradleyTerryFit.Vote] = []
        for vote in loaded.votes {
            let (a, b) = (index[vote.modelA]!, index[vote.modelB]!)
            let score: Double = vote.choice == "A" ? 1 : vote.choice == "B" ? 0 : 0.5
            let total = Double(vote.lengthA + vote.lengthB)
            let covariates = styleControl ? [total > 0 ? Double(vote.lengthA - vote.lengthB) / total : 0] : []
            votes.append(.init(a: a, b: b, scoreA: score, covariates: covariates))
            tallies[a].votes += 1
            tallies[b].votes += 1
            switch score {
            case 1: tallies[a].wins += 1; tallies[b].losses += 1
            case 0: tallies[b].wins += 1; tallies[a].losses += 1
            default: tallies[a].ties += 1; tallies[b].ties += 1
            }
            pairScores[vote.modelA, default: [:]][vote.modelB, default: (0, 0)].score += score
            pairScores[vote.modelA, default: [:]][vote.modelB, default: (0, 0)].count += 1
            pairScores[vote.modelB, default: [:]][vote.modelA, default: (0, 0)].score += 1 - score
            pairScores[vote.modelB, default: [:]][vote.modelA, default: (0, 0)].count += 1
        }
        let fitted = names.count >= 2 ? BradleyTerryFit.fitWithCovariates(votes, models: names.count) : nil
        let ratings = fitted.map { BradleyTerryFit.ratings($0.theta) }
        let intervals = fitted == nil ? [] : BradleyTerryFit.bootstrap(votes, models: names.count, rounds: bootstrap, seed: seed)
        var message: String?
        if names.count < 2 {
            message =
                loaded.withoutModels > 0 && loaded.votes.isEmpty
                ? "no judged pair names two different models (model_a, model_b): nothing to rank"
                : "a leaderboard needs votes between at least two models"
        } else if fitted == nil {
            message =
                "no maximum-likelihood fit: a model that never lost (or never won), or models that never met, has no finite score; collect more votes"
        }
        var entries = names.indices.map { i in
            Leaderboard.Entry(
                model: names[i], score: ratings?[i], ci95: i < intervals.count ? intervals[i] : nil, votes: tallies[i].votes,
                wins: tallies[i].wins, losses: tallies[i].losses, ties: tallies[i].ties)
        }
        entries.sort { ($0.score ?? -.infinity, $1.model) > ($1.score ?? -.infinity, $0.model) }
        return Leaderboard(
            models: entries, battles: votes.count,
            winRates: pairScores.mapValues { $0.mapValues { $0.count > 0 ? $0.score / $0.count : 0 } },
            lengthCoefficient: styleControl ? fitted?.coefficients.first : nil, styleControl: styleControl,
            bootstrap: bootstrap, seed: seed, quarantinedRaters: loaded.quarantinedRaters, excludedVotes: loaded.excludedVotes,
            withoutModels: loaded.withoutModels, message: message)
    }
}
