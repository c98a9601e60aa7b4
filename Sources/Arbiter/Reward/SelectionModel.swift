import Agreement
import Glibc
import RewardModel
import Synchronization

/// The decisive normal judgements of one project, kept between retrains so that
/// each retrain reads only what is new (``SelectionModels/update(_:_:projectID:)``).
public final class LabelCache: @unchecked Sendable {
    // @unchecked Sendable: used by one retrain at a time (the worker's `busy` flag),
    // on its background thread; handed between runs under the worker's mutex.
    /// An empty cache: the first retrain reads every judgement.
    public init() {}

    var lastAnnotationID: Int64 = 0
    var lastRevisionID: Int64 = 0
    /// Each judged pair's responses.
    var texts: [Int64: (a: String, b: String)] = [:]
    /// Per pair, per annotation: who voted and whether for A (ties and both-bad drop out).
    var votes: [Int64: [Int64: (user: Int, choseA: Bool)]] = [:]

    /// Forgets everything (the project's data is not what was read).
    func reset() {
        lastAnnotationID = 0
        lastRevisionID = 0
        texts = [:]
        votes = [:]
    }

    /// Records an annotation's current choice.
    func record(annotation: Int64, pair: Int64, user: Int, choice: String) {
        switch choice {
        case "A", "B": votes[pair, default: [:]][annotation] = (user, choice == "A")
        default: votes[pair]?[annotation] = nil
        }
    }

    /// Each pair's label: the accuracy-weighted vote (log odds), pairs in id order;
    /// an even vote gives no label.
    func labels(accuracies: [Int: Double]) -> [(a: String, b: String, aWins: Bool)] {
        votes.keys.sorted().compactMap { pair in
            guard let texts = texts[pair] else { return nil }
            var logOdds = 0.0
            for (_, vote) in votes[pair] ?? [:] {
                let accuracy = min(0.99, max(0.5, accuracies[vote.user] ?? OverlapRule.priorAccuracy))
                let weight = log(accuracy / (1 - accuracy))
                logOdds += vote.choseA ? weight : -weight
            }
            return logOdds == 0 ? nil : (texts.a, texts.b, logOdds > 0)
        }
    }
}

/// The models of adaptive collection, pure computation: rater accuracies from
/// shared judgements, and the active-selection model that ranks untouched pairs
/// by how uncertain it is about them.
enum SelectionModel {
    /// Each rater's accuracy and class-conditional rates (Dawid–Skene, shrunk:
    /// ``RaterAccuracy/estimateClasses(_:units:raters:pseudoCount:)``) from decisive
    /// judgements on shared pairs.
    static func classAccuracies(
        _ rows: [(pair: Int64, user: Int, choseA: Bool)], pseudoCount: Double? = nil
    ) -> [(user: Int, estimate: RaterAccuracy.Estimate)] {
        var units: [Int64: Int] = [:], raters: [Int: Int] = [:], users: [Int] = []
        let judgements = rows.map { row -> (unit: Int, rater: Int, label: Int) in
            let unit = units[row.pair] ?? units.count
            units[row.pair] = unit
            let rater = raters[row.user] ?? users.count
            if raters[row.user] == nil {
                raters[row.user] = rater
                users.append(row.user)
            }
            return (unit, rater, row.choseA ? 0 : 1)
        }
        let estimated = RaterAccuracy.estimateClasses(judgements, units: units.count, raters: users.count, pseudoCount: pseudoCount)
        return Array(zip(users, estimated))
    }

    /// The automatic stop threshold for this crowd: raters arrive in proportion
    /// to their judgements so far and vote by their class-conditional rates (ties
    /// and "both bad" at their own rate); a rater not estimated yet votes at the
    /// prior accuracy; uncounted raters' votes are spent, not counted.
    static func automaticThreshold(
        rule: OverlapRule, weights: [Int: PairDemand.RaterWeight], volumes: [Int: (judgements: Int, neutral: Int)],
        uncounted: Set<Int>
    ) -> AutomaticThreshold? {
        let raters = volumes.sorted { $0.key < $1.key }.map { user, volume in
            let weight = weights[user] ?? .unknown
            return AutomaticThreshold.Rater(
                pickA: weight.pickA ?? weight.accuracy, pickB: weight.pickB ?? weight.accuracy,
                neutral: Double(volume.neutral) / Double(max(1, volume.judgements)), weight: Double(volume.judgements),
                counted: !uncounted.contains(user))
        }
        return AutomaticThreshold.choose(raters: raters, minimum: rule.minimum, maximum: rule.maximum)
    }

    /// Open pairs whose wanted count moves under `raters` (their estimates, and
    /// whether their votes count): (pair, wanted, judged).
    static func redecide(
        _ ballots: [PairDemand.Ballot], rule: OverlapRule, raters: [Int: PairDemand.RaterWeight],
        models: [Int64: [OverlapRule.Vote]] = [:]
    ) -> [(pair: Int64, wanted: Int, judged: Int)] {
        ballots.compactMap { ballot in
            let votes = ballot.votes.map { vote in
                (raters[vote.user] ?? PairDemand.RaterWeight.unknown).vote(vote.choice)
            }
            let wanted = rule.wanted(votes, models: models[ballot.pair] ?? [])
            return wanted == ballot.wanted ? nil : (ballot.pair, wanted, ballot.votes.count)
        }
    }

    /// Trains a Bradley–Terry model on `labelled` and scores each candidate's
    /// uncertainty |P(A better) − 0.5|; empty when there are fewer than 20 labels.
    static func uncertainty(
        labelled: [(a: String, b: String, aWins: Bool)], candidates: [(pair: Int64, a: String, b: String, priority: Double)], seed: UInt64
    ) -> [(pair: Int64, uncertainty: Double)] {
        let hasher = FeatureHasher(bits: 18)
        var data = PreferenceSet(hasher: hasher)
        for pair in labelled {
            data.append(chosen: pair.aWins ? pair.a : pair.b, rejected: pair.aWins ? pair.b : pair.a)
        }
        guard data.count >= 20 else { return [] }
        var options = TrainingOptions()
        options.seed = seed
        // One shard: small data, and this thread is niced; the event loops come first.
        options.shards = 1
        let model = BradleyTerryTrainer.train(data, options: options).model
        return candidates.map { pair in
            let margin = Double(model.score(hasher.features(pair.a)) - model.score(hasher.features(pair.b)))
            return (pair.pair, abs(1 / (1 + exp(-margin)) - 0.5))
        }
    }

    /// The queue: the `length` least certain candidates get |p − 0.5| − 1 (before
    /// every other pair, which stays at 0, in id order); pairs that left the queue go
    /// back to 0. Only priorities that moved by 0.005 or more are returned, by pair id.
    static func priorities(
        scored: [(pair: Int64, uncertainty: Double)], previous: [Int64: Double], length: Int
    ) -> [(pair: Int64, priority: Double)] {
        let queued = scored.sorted { ($0.uncertainty, $0.pair) < ($1.uncertainty, $1.pair) }.prefix(length)
        var target = Dictionary(uniqueKeysWithValues: queued.map { ($0.pair, $0.uncertainty - 1) })
        for (pair, priority) in previous where priority != 0 && target[pair] == nil { target[pair] = 0 }
        return target.filter { abs($0.value - (previous[$0.key] ?? 0)) >= 0.005 }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
