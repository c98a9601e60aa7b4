import Glibc

/// How many judgements a pair gets: a fixed number, or adaptively between a
/// minimum and a maximum, stopping early once the answer is clear.
///
/// A pair is *settled* when it has `maximum` judgements, or at least `minimum`
/// and either stop rule fires:
/// - `lead`: the leading decisive answer (A or B) is `lead` votes ahead of the
///   other — "the first k agree", and after a dissent, k more for one side. This is
///   Wald's sequential test for raters of equal, unknown-but-fixed reliability.
/// - `posterior`: with each rater's accuracy `a`, a vote adds `±log(a / (1 − a))`
///   to the log-odds of A over B (uniform prior); the pair stops once the leading
///   answer's posterior `σ(|log-odds|)` reaches `posterior`.
///
/// Ties and "both bad" count as judgements spent but move neither rule: they say
/// nothing about which response is better.
public struct OverlapRule: Sendable, Equatable {
    public var minimum: Int
    public var maximum: Int
    public var lead: Int?
    public var posterior: Double?

    /// Accuracy assumed for a rater the project knows nothing about yet.
    public static let priorAccuracy = 0.75

    public init(minimum: Int, maximum: Int, lead: Int? = nil, posterior: Double? = nil) {
        self.minimum = minimum
        self.maximum = maximum
        self.lead = lead
        self.posterior = posterior
    }

    /// Exactly `count` judgements per pair.
    public static func fixed(_ count: Int) -> OverlapRule { OverlapRule(minimum: count, maximum: count) }

    public var isAdaptive: Bool { minimum < maximum && (lead != nil || posterior != nil) }

    /// One judgement: `choice` 0 for A, 1 for B, nil for a tie or "both bad";
    /// `accuracy` is the rater's estimated chance of being right.
    public struct Vote: Sendable, Equatable {
        public var choice: Int?
        public var accuracy: Double
        public init(choice: Int?, accuracy: Double = OverlapRule.priorAccuracy) {
            self.choice = choice
            self.accuracy = accuracy
        }
    }

    /// Whether `votes` (in the order they came) settle the pair.
    public func isSettled(_ votes: [Vote]) -> Bool {
        if votes.count >= maximum { return true }
        guard votes.count >= minimum else { return false }
        guard isAdaptive else { return false }
        if let lead {
            var margin = 0
            for vote in votes { if let choice = vote.choice { margin += choice == 0 ? 1 : -1 } }
            if abs(margin) >= lead { return true }
        }
        if let posterior, Self.leadingPosterior(votes) >= posterior { return true }
        return false
    }

    /// How many judgements the pair should have in all, given those it has: its
    /// count once settled, otherwise one more (never below the minimum).
    public func wanted(_ votes: [Vote]) -> Int {
        if isSettled(votes) { return votes.count }
        return min(maximum, max(minimum, votes.count + 1))
    }

    /// The posterior of the leading decisive answer; 0.5 with no decisive votes.
    public static func leadingPosterior(_ votes: [Vote]) -> Double {
        var logOdds = 0.0
        for vote in votes {
            guard let choice = vote.choice else { continue }
            let accuracy = min(0.99, max(0.5, vote.accuracy))
            let weight = log(accuracy / (1 - accuracy))
            logOdds += choice == 0 ? weight : -weight
        }
        return 1 / (1 + exp(-abs(logOdds)))
    }
}

/// Each rater's accuracy on decisive (A/B) judgements, by Dawid–Skene, shrunk
/// toward the crowd so a rater seen on a handful of shared pairs is not trusted on
/// luck. By default the shrinkage is empirical Bayes: a Beta prior fitted to this
/// crowd's raters (its mean and strength by maximum likelihood of the beta-binomial
/// over each rater's effective right/wrong counts), and each rater's posterior
/// mean — the probability that their next vote is right, which is what a vote's
/// weight in the stop rule needs: a rater known from 10 judgements sits near the
/// crowd, one known from 1,000 at their own rate. With `pseudoCount`, the old
/// fixed shrinkage toward ``OverlapRule/priorAccuracy`` by that many judgements.
public enum RaterAccuracy {
    /// The Beta prior fitted to a crowd: mean and strength (pseudo-judgements).
    public struct Prior: Sendable, Equatable {
        public var mean: Double
        public var strength: Double
    }

    /// `judgements`: unit, rater and label (0 = A, 1 = B). Only units with two or
    /// more judgements say anything about a rater; the others are ignored.
    public static func estimate(
        _ judgements: [(unit: Int, rater: Int, label: Int)], units: Int, raters: Int, pseudoCount: Double? = nil
    ) -> [(accuracy: Double, shared: Int)] {
        var perUnit = [Int](repeating: 0, count: units)
        for judgement in judgements { perUnit[judgement.unit] += 1 }
        // Dense unit numbers for the shared units only, so the prior is theirs.
        var dense = [Int](repeating: -1, count: units)
        var sharedUnits = 0
        var shared: [(unit: Int, rater: Int, label: Int)] = []
        for judgement in judgements where perUnit[judgement.unit] > 1 {
            if dense[judgement.unit] < 0 {
                dense[judgement.unit] = sharedUnits
                sharedUnits += 1
            }
            shared.append((dense[judgement.unit], judgement.rater, judgement.label))
        }
        guard !shared.isEmpty else { return Array(repeating: (OverlapRule.priorAccuracy, 0), count: raters) }
        let model = DawidSkene.estimate(shared, units: sharedUnits, raters: raters, categories: 2)
        var seen = [Int](repeating: 0, count: raters)
        for judgement in shared { seen[judgement.rater] += 1 }
        let prior = pseudoCount.map { Prior(mean: OverlapRule.priorAccuracy, strength: $0) }
            ?? fitPrior((0..<raters).filter { seen[$0] > 0 }.map { (right: model.accuracy[$0] * Double(seen[$0]), n: Double(seen[$0])) })
        return (0..<raters).map { rater in
            guard seen[rater] > 0 else { return (OverlapRule.priorAccuracy, 0) }
            let n = Double(seen[rater])
            let shrunk = (model.accuracy[rater] * n + prior.mean * prior.strength) / (n + prior.strength)
            return (min(0.99, max(0.5, shrunk)), seen[rater])
        }
    }

    /// The Beta(mean·s, (1 − mean)·s) maximising Σ log beta-binomial(right | n),
    /// over a grid (mean 0.50–0.99 by 0.01, strength 2–512 by doublings); with no
    /// rater, ``OverlapRule/priorAccuracy`` and 20.
    public static func fitPrior(_ raters: [(right: Double, n: Double)]) -> Prior {
        guard !raters.isEmpty else { return Prior(mean: OverlapRule.priorAccuracy, strength: 20) }
        func logBeta(_ a: Double, _ b: Double) -> Double { lgamma(a) + lgamma(b) - lgamma(a + b) }
        var best = Prior(mean: OverlapRule.priorAccuracy, strength: 20)
        var bestLikelihood = -Double.infinity
        for meanStep in 50...99 {
            let mean = Double(meanStep) / 100
            for power in 1...9 {
                let strength = pow(2, Double(power))
                let a = mean * strength, b = (1 - mean) * strength
                var likelihood = 0.0
                for rater in raters { likelihood += logBeta(rater.right + a, rater.n - rater.right + b) - logBeta(a, b) }
                if likelihood > bestLikelihood {
                    bestLikelihood = likelihood
                    best = Prior(mean: mean, strength: strength)
                }
            }
        }
        return best
    }
}
