import Glibc

/// How many judgements a pair gets: a fixed number, or adaptively between a
/// minimum and a maximum, stopping early once the answer is clear.
///
/// A pair is *settled* when it has `maximum` judgements, or at least `minimum`
/// and either stop rule fires:
/// - `lead`: the leading decisive answer (A or B) is `lead` votes ahead of the
///   other — "the first k agree", and after a dissent, k more for one side. This is
///   Wald's sequential test for raters of equal, unknown-but-fixed reliability.
/// - `posterior`: each vote pushes the log-odds of A over B (uniform prior) by what
///   its rater's class-conditional rates say — `log(pickA / (1 − pickB))` for A,
///   `log((1 − pickA) / pickB)` for B, where `pickA` is P(picks A | A is better) — so
///   a vote for the side a rater picks whatever the pair counts little (with one
///   accuracy `a` for both sides this is `±log(a / (1 − a))`); the pair stops once
///   the leading answer's posterior `σ(|log-odds|)` reaches `posterior`.
/// - `automatic`: the posterior rule with a threshold chosen for this crowd
///   (``AutomaticThreshold``): the lowest whose expected label error at stopping is
///   no worse than fixed overlap 3's, as the fitted crowd predicts — and never on
///   one rater's word: the leading side needs two counted votes. Real items differ
///   in difficulty, and no estimate of a rater vouches for them on the item at
///   hand; with two agreeing votes, a pair that stops within three judgements gets
///   the answer the majority of three would have given.
///
/// Model judges' votes (`models`, when a project counts judges) are evidence
/// that costs no person's time: they push the posterior by their own estimated
/// rates but are never judgements spent (the minimum and maximum count people),
/// never move the `lead` rule, and never settle a pair alone — the leading side
/// needs at least one person's counted vote (and, automatic, two counted votes
/// of anyone).
///
/// Ties and "both bad" count as judgements spent but move neither rule: they say
/// nothing about which response is better. Votes of raters the detector flagged or
/// a reviewer quarantined are spent and not counted either (`Vote.counted`).
public struct OverlapRule: Sendable, Equatable {
    public var minimum: Int
    public var maximum: Int
    public var lead: Int?
    public var posterior: Double?
    /// The posterior threshold comes from the crowd (``AutomaticThreshold``); until
    /// it is estimated, ``initialAutomaticThreshold``.
    public var automatic: Bool

    /// Accuracy assumed for a rater the project knows nothing about yet.
    public static let priorAccuracy = 0.75
    /// An automatic rule's threshold before the crowd is estimated: three agreeing
    /// votes of raters at ``priorAccuracy`` (σ(3 log 3) = 0.964), as fixed overlap 3
    /// would have on a unanimous pair.
    public static let initialAutomaticThreshold = 0.96

    public init(minimum: Int, maximum: Int, lead: Int? = nil, posterior: Double? = nil, automatic: Bool = false) {
        self.minimum = minimum
        self.maximum = maximum
        self.lead = lead
        self.posterior = posterior
        self.automatic = automatic
    }

    /// The rule with an automatic threshold filled in (`threshold`, or the initial
    /// one when the crowd is not estimated yet); other rules unchanged.
    public func resolved(threshold: Double?) -> OverlapRule {
        guard automatic else { return self }
        var rule = self
        rule.posterior = threshold ?? Self.initialAutomaticThreshold
        return rule
    }

    /// Exactly `count` judgements per pair.
    public static func fixed(_ count: Int) -> OverlapRule { OverlapRule(minimum: count, maximum: count) }

    public var isAdaptive: Bool { minimum < maximum && (lead != nil || posterior != nil || automatic) }

    /// One judgement: `choice` 0 for A, 1 for B, nil for a tie or "both bad";
    /// `accuracy` is the rater's estimated chance of being right, `pickA`/`pickB`
    /// their class-conditional rates when known; `counted` false for a flagged or
    /// quarantined rater.
    public struct Vote: Sendable, Equatable {
        public var choice: Int?
        public var accuracy: Double
        public var pickA: Double?
        public var pickB: Double?
        public var counted: Bool
        public init(
            choice: Int?, accuracy: Double = OverlapRule.priorAccuracy, pickA: Double? = nil, pickB: Double? = nil, counted: Bool = true
        ) {
            self.choice = choice
            self.accuracy = accuracy
            self.pickA = pickA
            self.pickB = pickB
            self.counted = counted
        }

        /// The vote's push on the log-odds of A: toward its own side or nothing,
        /// never against it (rates are kept within 0.01–0.99).
        public var push: Double {
            guard counted, let choice else { return 0 }
            let a = min(0.99, max(0.01, pickA ?? accuracy)), b = min(0.99, max(0.01, pickB ?? accuracy))
            return choice == 0 ? max(0, log(a / (1 - b))) : min(0, log((1 - a) / b))
        }
    }

    /// Whether `votes` (people's, in the order they came) settle the pair, with
    /// model judges' `models` as further evidence.
    public func isSettled(_ votes: [Vote], models: [Vote] = []) -> Bool {
        if votes.count >= maximum { return true }
        guard votes.count >= minimum else { return false }
        guard isAdaptive else { return false }
        if let lead {
            var margin = 0
            for vote in votes where vote.counted { if let choice = vote.choice { margin += choice == 0 ? 1 : -1 } }
            if abs(margin) >= lead { return true }
        }
        let all = models.isEmpty ? votes : votes + models
        if let posterior, Self.leadingPosterior(all) >= posterior, !automatic || Self.leaderHasTwo(all),
            models.isEmpty || Self.leaderHasPerson(people: votes, all: all)
        {
            return true
        }
        return false
    }

    /// Whether a person's vote pushes towards the side all the votes lean to: a
    /// vote that moves nothing (a rater estimated at chance, or one who picks that
    /// side whatever the pair) is not a person's word.
    static func leaderHasPerson(people: [Vote], all: [Vote]) -> Bool {
        let logOdds = all.reduce(0) { $0 + $1.push }
        guard logOdds != 0 else { return false }
        return people.contains { logOdds > 0 ? $0.push > 0 : $0.push < 0 }
    }

    /// Whether the side the counted votes lean to has at least two of them.
    static func leaderHasTwo(_ votes: [Vote]) -> Bool {
        var logOdds = 0.0, forA = 0, forB = 0
        for vote in votes where vote.counted {
            guard let choice = vote.choice else { continue }
            logOdds += vote.push
            if choice == 0 { forA += 1 } else { forB += 1 }
        }
        return logOdds > 0 ? forA >= 2 : logOdds < 0 ? forB >= 2 : false
    }

    /// How many judgements the pair should have in all, given those it has: its
    /// count once settled, otherwise one more (never below the minimum).
    public func wanted(_ votes: [Vote], models: [Vote] = []) -> Int {
        if isSettled(votes, models: models) { return votes.count }
        return min(maximum, max(minimum, votes.count + 1))
    }

    /// The posterior of the leading decisive answer; 0.5 with no decisive votes.
    public static func leadingPosterior(_ votes: [Vote]) -> Double {
        var logOdds = 0.0
        for vote in votes { logOdds += vote.push }
        return 1 / (1 + exp(-abs(logOdds)))
    }
}

/// The threshold an automatic stop rule uses on one project: the lowest whose
/// expected label error at stopping is no worse than fixed overlap 3's, both
/// predicted from the fitted crowd by simulating pairs judged by raters drawn as
/// the project's raters arrive (in proportion to their judgements), each voting
/// by their class-conditional rates (ties and "both bad" at their own rate;
/// flagged raters' votes spent and not counted), decided by the same weighted
/// posterior. A clean crowd gets a low threshold and stops early; a noisy one a
/// high threshold and saves little — the promise kept is the error, not the saving.
public struct AutomaticThreshold: Sendable, Equatable {
    /// One rater of the fitted crowd.
    public struct Rater: Sendable, Equatable {
        public var pickA: Double
        public var pickB: Double
        /// Share of their judgements that are ties or "both bad".
        public var neutral: Double
        /// How often they arrive (their judgements so far).
        public var weight: Double
        public var counted: Bool
        public init(pickA: Double, pickB: Double, neutral: Double = 0, weight: Double, counted: Bool = true) {
            self.pickA = pickA
            self.pickB = pickB
            self.neutral = neutral
            self.weight = weight
            self.counted = counted
        }
    }

    public var threshold: Double
    /// Predicted label error at stopping with `threshold`, and with fixed overlap 3.
    public var expectedError: Double
    public var fixedThreeError: Double
    /// Predicted judgements per pair with `threshold` (fixed overlap 3: 3).
    public var expectedJudgements: Double

    /// Thresholds tried, lowest first.
    public static let candidates: [Double] = stride(from: 0.70, through: 0.995, by: 0.005).map { ($0 * 1000).rounded() / 1000 }
    /// Simulated pairs per candidate (the same pairs for each: common random numbers).
    public static let simulatedPairs = 6_000

    public init(threshold: Double, expectedError: Double, fixedThreeError: Double, expectedJudgements: Double) {
        self.threshold = threshold
        self.expectedError = expectedError
        self.fixedThreeError = fixedThreeError
        self.expectedJudgements = expectedJudgements
    }

    /// Nil without a rater whose votes count.
    public static func choose(raters: [Rater], priorA: Double = 0.5, minimum: Int, maximum: Int, seed: UInt64 = 1) -> AutomaticThreshold? {
        let pool = raters.filter { $0.weight > 0 }
        guard pool.contains(where: \.counted), maximum >= 1 else { return nil }
        var cumulative: [Double] = []
        var total = 0.0
        for rater in pool {
            total += rater.weight
            cumulative.append(total)
        }
        // The simulated pairs: truth and the first `maximum` votes of each, fixed
        // once so every candidate and the baseline see the same draws.
        var random = CrowdSimulator.Generator(state: seed)
        let depth = max(3, maximum)
        var truths: [Int] = []
        var votes: [OverlapRule.Vote] = []
        truths.reserveCapacity(simulatedPairs)
        votes.reserveCapacity(simulatedPairs * depth)
        for _ in 0..<simulatedPairs {
            let truth = random.uniform() < priorA ? 0 : 1
            truths.append(truth)
            for _ in 0..<depth {
                let draw = random.uniform() * total
                var low = 0, high = cumulative.count - 1
                while low < high {
                    let mid = (low + high) / 2
                    if cumulative[mid] > draw { high = mid } else { low = mid + 1 }
                }
                let rater = pool[low]
                let choice: Int?
                if random.uniform() < rater.neutral {
                    choice = nil
                } else {
                    let right = random.uniform() < (truth == 0 ? rater.pickA : rater.pickB)
                    choice = right ? truth : 1 - truth
                }
                votes.append(OverlapRule.Vote(choice: choice, pickA: rater.pickA, pickB: rater.pickB, counted: rater.counted))
            }
        }
        func run(_ rule: OverlapRule) -> (error: Double, judgements: Double) {
            var error = 0.0, spent = 0
            for pair in 0..<simulatedPairs {
                let base = pair * depth
                var logOdds = 0.0
                var used = 0, forA = 0, forB = 0
                while used < rule.maximum {
                    let vote = votes[base + used]
                    logOdds += vote.push
                    if vote.counted, let choice = vote.choice { if choice == 0 { forA += 1 } else { forB += 1 } }
                    used += 1
                    let leaderHasTwo = logOdds > 0 ? forA >= 2 : logOdds < 0 ? forB >= 2 : false
                    if used >= rule.minimum, let posterior = rule.posterior, rule.isAdaptive, leaderHasTwo || !rule.automatic,
                        1 / (1 + exp(-abs(logOdds))) >= posterior
                    {
                        break
                    }
                }
                spent += used
                if logOdds == 0 { error += 0.5 } else if (logOdds > 0 ? 0 : 1) != truths[pair] { error += 1 }
            }
            return (error / Double(simulatedPairs), Double(spent) / Double(simulatedPairs))
        }
        let baseline = run(.fixed(3)).error
        var chosen: (Double, (error: Double, judgements: Double))?
        for candidate in candidates {
            let result = run(OverlapRule(minimum: minimum, maximum: maximum, posterior: candidate, automatic: true))
            if result.error <= baseline {
                chosen = (candidate, result)
                break
            }
        }
        let (threshold, result) =
            chosen
            ?? (candidates.last!, run(OverlapRule(minimum: minimum, maximum: maximum, posterior: candidates.last!, automatic: true)))
        return AutomaticThreshold(
            threshold: threshold, expectedError: result.error, fixedThreeError: baseline, expectedJudgements: result.judgements)
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
        estimateClasses(judgements, units: units, raters: raters, pseudoCount: pseudoCount).map { ($0.accuracy, $0.shared) }
    }

    /// One rater's estimate: overall, and per class — P(picks A | A is better) and
    /// P(picks B | B is better), each shrunk toward the same fitted prior by the
    /// rater's expected judgements of that class.
    public struct Estimate: Sendable, Equatable {
        public var accuracy: Double
        public var pickA: Double
        public var pickB: Double
        public var shared: Int
    }

    /// ``estimate(_:units:raters:pseudoCount:)`` with the class-conditional rates.
    public static func estimateClasses(
        _ judgements: [(unit: Int, rater: Int, label: Int)], units: Int, raters: Int, pseudoCount: Double? = nil
    ) -> [Estimate] {
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
        let unknown = Estimate(
            accuracy: OverlapRule.priorAccuracy, pickA: OverlapRule.priorAccuracy, pickB: OverlapRule.priorAccuracy, shared: 0)
        guard !shared.isEmpty else { return Array(repeating: unknown, count: raters) }
        let model = DawidSkene.estimate(shared, units: sharedUnits, raters: raters, categories: 2)
        var seen = [Int](repeating: 0, count: raters)
        for judgement in shared { seen[judgement.rater] += 1 }
        let prior =
            pseudoCount.map { Prior(mean: OverlapRule.priorAccuracy, strength: $0) }
            ?? fitPrior((0..<raters).filter { seen[$0] > 0 }.map { (right: model.accuracy[$0] * Double(seen[$0]), n: Double(seen[$0])) })
        // Expected judgements of each class per rater, from the unit posteriors.
        var seenA = [Double](repeating: 0, count: raters)
        for judgement in shared { seenA[judgement.rater] += model.posteriors[judgement.unit][0] }
        return (0..<raters).map { rater in
            guard seen[rater] > 0 else { return unknown }
            let n = Double(seen[rater])
            func shrink(_ rate: Double, _ count: Double) -> Double {
                (rate * count + prior.mean * prior.strength) / (count + prior.strength)
            }
            let confusion = model.confusion[rater]
            return Estimate(
                accuracy: min(0.99, max(0.5, shrink(model.accuracy[rater], n))),
                pickA: min(0.99, max(0.01, shrink(confusion[0], seenA[rater]))),
                pickB: min(0.99, max(0.01, shrink(confusion[3], n - seenA[rater]))), shared: seen[rater])
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
