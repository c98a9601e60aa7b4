import Glibc

/// An empirical-Bayes model of how the raters of *this* crowd choose between A
/// and B, fitted to the project at hand rather than set by fixed margins.
///
/// Each A/B choice is read against the other raters' votes on the same pair (leave
/// one out): the pair leans by `x`, the log-odds of A in the others' class-conditional
/// posterior (``ClassConditionalCrowd``: each vote weighed by how well its rater tells
/// A from B), never beyond `±log((kA + kB + ½) / ½)` — what `kA + kB` others agreeing
/// would say. Zero on a pair the others cannot settle (a hard pair says nothing
/// about anyone), large on one they all agree on. A rater with
/// *sharpness* γ picks A with probability `σ(γ·x)`: γ ≈ 1.5 follows the crowd on
/// easy pairs, γ = 0 is a coin (random clicking, position or length scripts), and
/// γ < 0 goes against the crowd (label flipping). The crowd is a mixture:
///
/// - honest raters: γ > 0 — *at or above chance however noisy* — drawn from a
///   log-normal distribution whose median and spread are fitted here (a scale
///   has a log-normal spread; its thin tail near zero is what says that an honest
///   rater, however weak, still follows the crowd);
/// - the rest: at chance (|γ| ≤ 0.05: random clicking, scripts that ignore the
///   content) or inverting (γ from −3 to −0.05: label flipping), half and half.
///
/// Fitting is EM over a grid of γ values (the share of honest raters, their
/// median and spread), each rater's likelihood integrated over the grid — so a rater known
/// from 8 judgements gets a wide posterior and stays near the prior, and one known
/// from 800 gets a sharp one. The result per rater is the posterior probability of
/// being honest; flagged raters' probabilities add up to the expected number of
/// honest raters among them.
public struct CrowdModel: Sendable {
    public struct Rater: Sendable {
        /// Posterior probability of belonging to the honest part of the crowd.
        public var honestProbability: Double
        /// Posterior mean sharpness, as if honest (what weights the rater's votes).
        public var sharpness: Double
        /// A/B choices on pairs where the others leaned one way.
        public var leaned: Int
        /// Of those, how many went against the lean.
        public var against: Int
        /// How many an honest rater of this crowd would go against on the same pairs.
        public var expectedAgainst: Double
        /// Ties and "both bad" on pairs where the others leaned one way.
        public var neutral: Int
        /// Whether these pairs could tell a coin from an honest rater: a rater who
        /// went against the lean on exactly half of them would get a probability of
        /// being honest below ``CrowdModel/decisionThreshold``. When false, the
        /// rater's choices are "not enough evidence yet", whatever they are.
        public var enoughEvidence: Bool
    }

    /// Raters whose probability of being honest is below this are flagged.
    public static let decisionThreshold = 0.01

    public var raters: [Rater]
    /// The fitted share of honest raters.
    public var honestShare: Double
    /// Median of honest raters' sharpness, and the spread of its logarithm.
    public var honestMedian: Double
    public var honestLogSpread: Double
    /// Honest raters' mean rate of ties and "both bad" where the others leaned.
    public var honestNeutralRate: Double
    /// Per first judgement: the others' lean `x` (0 when uninformative).
    public var lean: [Double]

    static let grid: [Double] = stride(from: -3.0, through: 5.0, by: 0.05).map { $0 }
    /// log γ on the grid (0 where γ ≤ 0, which the honest prior never weighs).
    static let logGrid: [Double] = grid.map { $0 > 0 ? log($0) : 0 }
    static let attackerCeiling = 0.05
    /// Leans are read in steps of this much log-odds (so raters' choices group into
    /// few patterns), up to `leanSteps` of them (log 511: 255 others agreeing).
    static let leanStep = 0.05
    static let leanSteps = 125

    /// Fits the model to a pass's context (the others' votes leave out the raters
    /// it excludes).
    init(_ context: RaterContext) {
        let grid = Self.grid
        let logGrid = Self.logGrid
        // Distinct lean strengths (in leanStep steps) and each rater's counts of "with"/"against" per
        // pattern (flat arrays: this runs over every judgement of the project).
        var lean = [Double](repeating: 0, count: context.firsts.count)
        var patternOf = [Int32](repeating: -1, count: Self.leanSteps + 1)
        var patternLean: [Double] = []
        var leaned = [Int](repeating: 0, count: context.raters)
        var against = [Int](repeating: 0, count: context.raters)
        var neutral = [Int](repeating: 0, count: context.raters)
        var choices: [(rater: Int32, pattern: Int32, against: Bool)] = []
        choices.reserveCapacity(context.firsts.count)
        for (index, judgement) in context.firsts.enumerated() {
            let unitCounts = context.unitCounts[judgement.unit]
            var kA = unitCounts[0], kB = unitCounts[1]
            if !context.excluded.contains(judgement.rater) {
                if judgement.category == 0 { kA -= 1 } else if judgement.category == 1 { kB -= 1 }
            }
            guard kA + kB > 0 else { continue }
            // The others' lean: which side their class-conditional posterior favours
            // (a crowd of raters who answer "A" whatever the pair does not make a
            // pair lean A), never stronger than the same number of others agreeing
            // unanimously would make it.
            let cap = log((Double(kA + kB) + 0.5) / 0.5)
            let x = max(-cap, min(cap, context.reliability.othersLogOdds(index, unit: judgement.unit)))
            let step = min(Self.leanSteps, Int((abs(x) / Self.leanStep).rounded()))
            guard step > 0 else { continue }
            lean[index] = x
            guard judgement.category < 2 else {
                neutral[judgement.rater] += 1
                continue
            }
            if patternOf[step] < 0 {
                patternOf[step] = Int32(patternLean.count)
                patternLean.append(Double(step) * Self.leanStep)
            }
            let goesAgainst = (judgement.category == 0) != (x > 0)
            choices.append((Int32(judgement.rater), patternOf[step], goesAgainst))
            leaned[judgement.rater] += 1
            if goesAgainst { against[judgement.rater] += 1 }
        }
        self.lean = lean
        let patterns = patternLean.count
        var withCounts = [Double](repeating: 0, count: context.raters * patterns)
        var againstCounts = [Double](repeating: 0, count: context.raters * patterns)
        for choice in choices {
            let slot = Int(choice.rater) * patterns + Int(choice.pattern)
            if choice.against { againstCounts[slot] += 1 } else { withCounts[slot] += 1 }
        }
        // log σ(±γ·x) for every pattern and grid point, once.
        var logWith = [Double](repeating: 0, count: patterns * grid.count)
        var logAgainst = [Double](repeating: 0, count: patterns * grid.count)
        for pattern in 0..<patterns {
            for (g, gamma) in grid.enumerated() {
                logWith[pattern * grid.count + g] = Self.logSigmoid(gamma * patternLean[pattern])
                logAgainst[pattern * grid.count + g] = Self.logSigmoid(-gamma * patternLean[pattern])
            }
        }
        // Log-likelihood of each rater at each grid point.
        let logLikelihood: [[Double]] = (0..<context.raters).map { rater in
            var row = [Double](repeating: 0, count: grid.count)
            for pattern in 0..<patterns {
                let (w, a) = (withCounts[rater * patterns + pattern], againstCounts[rater * patterns + pattern])
                guard w + a > 0 else { continue }
                for g in grid.indices { row[g] += w * logWith[pattern * grid.count + g] + a * logAgainst[pattern * grid.count + g] }
            }
            return row
        }
        let likelihood = logLikelihood.map { row -> [Double] in
            let top = row.max() ?? 0
            return row.map { exp($0 - top) }
        }
        let attackerPrior = Self.attackerPrior
        // EM: the honest share, median and spread. Raters with no informative choice
        // carry no evidence, and raters the pass excludes (flagged by a test in the
        // first pass) are no yardstick for honesty: both are left out of the fit.
        let informative = (0..<context.raters).filter { leaned[$0] + neutral[$0] > 0 && !context.excluded.contains($0) }
        let excludedWithEvidence = context.excluded.filter { leaned[$0] + neutral[$0] > 0 }.count
        var share = 0.8, logMedian = log(1.5), logSpread = 0.5
        // Ties and "both bad" on pairs where the others leaned: honest raters' rate
        // is Beta(neutralMean·κ, (1 − neutralMean)·κ), fitted; the rest's is as
        // likely to be the honest one as anything else (half that Beta, half
        // uniform) — an attacker who never calls a tie is no more honest for it.
        var neutralMean = 0.1, concentration = 20.0
        func neutralLogRatio(_ rater: Int) -> Double {
            let n = Double(neutral[rater]), m = Double(leaned[rater])
            let a = neutralMean * concentration, b = (1 - neutralMean) * concentration
            let honest = Self.logBeta(n + a, m + b) - Self.logBeta(a, b)
            let uniform = Self.logBeta(n + 1, m + 1)
            let top = max(honest, uniform)
            let other = top + log(0.5 * exp(honest - top) + 0.5 * exp(uniform - top))
            return honest - other
        }
        var honestPosterior = [Double](repeating: share, count: context.raters)
        for _ in 0..<60 {
            let honestPrior = Self.honestPrior(logMedian: logMedian, logSpread: logSpread)
            var weight = 0.0, first = 0.0, second = 0.0
            for rater in informative {
                let l = likelihood[rater]
                var m0 = 0.0, m1 = 0.0, moment1 = 0.0, moment2 = 0.0
                for g in grid.indices {
                    let h = honestPrior[g] * l[g]
                    m0 += h
                    m1 += attackerPrior[g] * l[g]
                    guard h > 0 else { continue }
                    moment1 += h * logGrid[g]
                    moment2 += h * logGrid[g] * logGrid[g]
                }
                let p = Self.posterior(share: share, honest: m0, other: m1, logRatio: neutralLogRatio(rater))
                honestPosterior[rater] = p
                guard m0 > 0 else { continue }
                weight += p
                first += p * moment1 / m0
                second += p * moment2 / m0
            }
            // Excluded raters (flagged by a test) count toward the share as not honest.
            let counted = informative.count + excludedWithEvidence
            let newShare = min(
                0.99, max(0.5, counted == 0 ? share : informative.map { honestPosterior[$0] }.reduce(0, +) / Double(counted)))
            // The log-normal's parameters from the posterior moments of log γ. The
            // spread is held between 0.1 (small crowds cannot estimate less) and 0.7
            // (then about 1 honest rater in 100 follows the crowd less than a fifth
            // as sharply as the typical one; wider, and a noisy crowd's fit would
            // call a coin honest).
            let newMedian = weight > 0 ? first / weight : logMedian
            let estimate = weight > 0 ? sqrt(max(0, second / weight - newMedian * newMedian)) : logSpread
            let newSpread = min(0.7, max(0.1, estimate))
            // The honest neutral rate: its mean from the honest-weighted counts, its
            // concentration by maximum likelihood over a grid.
            var neutralWeighted = 0.0, choicesWeighted = 0.0
            for rater in informative {
                neutralWeighted += honestPosterior[rater] * Double(neutral[rater])
                choicesWeighted += honestPosterior[rater] * Double(neutral[rater] + leaned[rater])
            }
            if choicesWeighted > 0 {
                neutralMean = min(0.9, max(0.005, neutralWeighted / choicesWeighted))
                concentration = [2.0, 5, 10, 20, 50, 100, 200, 500].max { lhs, rhs in
                    Self.betaBinomialFit(
                        lhs, mean: neutralMean, raters: informative, weights: honestPosterior, neutral: neutral, leaned: leaned)
                        < Self.betaBinomialFit(
                            rhs, mean: neutralMean, raters: informative, weights: honestPosterior, neutral: neutral, leaned: leaned)
                }!
            }
            let converged = abs(newShare - share) < 1e-6 && abs(newMedian - logMedian) < 1e-6 && abs(newSpread - logSpread) < 1e-6
            share = newShare
            logMedian = newMedian
            logSpread = newSpread
            if converged { break }
        }
        let median = exp(logMedian)
        let honestPrior = Self.honestPrior(logMedian: logMedian, logSpread: logSpread)
        raters = (0..<context.raters).map { rater in
            let l = likelihood[rater]
            var m0 = 0.0, m1 = 0.0, moment1 = 0.0
            for g in grid.indices {
                m0 += honestPrior[g] * l[g]
                m1 += attackerPrior[g] * l[g]
                moment1 += honestPrior[g] * l[g] * grid[g]
            }
            var expected = 0.0
            for pattern in 0..<patterns {
                let n = withCounts[rater * patterns + pattern] + againstCounts[rater * patterns + pattern]
                if n > 0 { expected += n * Self.sigmoid(-median * patternLean[pattern]) }
            }
            let p =
                leaned[rater] + neutral[rater] == 0
                ? share : Self.posterior(share: share, honest: m0, other: m1, logRatio: neutralLogRatio(rater))
            // The same pairs judged by a coin: half with the lean, half against.
            var coin = [Double](repeating: 0, count: grid.count)
            for pattern in 0..<patterns {
                let half = (withCounts[rater * patterns + pattern] + againstCounts[rater * patterns + pattern]) / 2
                guard half > 0 else { continue }
                for g in grid.indices { coin[g] += half * (logWith[pattern * grid.count + g] + logAgainst[pattern * grid.count + g]) }
            }
            let top = coin.max() ?? 0
            var c0 = 0.0, c1 = 0.0
            for g in grid.indices {
                c0 += honestPrior[g] * exp(coin[g] - top)
                c1 += attackerPrior[g] * exp(coin[g] - top)
            }
            let coinHonest = leaned[rater] == 0 ? share : share * c0 / max(1e-300, share * c0 + (1 - share) * c1)
            return Rater(
                honestProbability: p, sharpness: m0 > 0 ? moment1 / m0 : median, leaned: leaned[rater],
                against: against[rater], expectedAgainst: expected, neutral: neutral[rater],
                enoughEvidence: coinHonest < Self.decisionThreshold)
        }
        honestShare = share
        honestMedian = median
        honestLogSpread = logSpread
        honestNeutralRate = neutralMean
    }

    static func posterior(share: Double, honest: Double, other: Double, logRatio: Double) -> Double {
        // share·honest·e^r / (share·honest·e^r + (1 − share)·other), in log space.
        guard honest > 0 else { return 0 }
        guard other > 0 else { return 1 }
        let logOdds = log(share) - log(1 - share) + log(honest) - log(other) + logRatio
        return sigmoid(logOdds)
    }

    static func logBeta(_ a: Double, _ b: Double) -> Double { lgamma(a) + lgamma(b) - lgamma(a + b) }

    /// Σ weight · log beta-binomial(neutral | neutral + leaned, mean·κ, (1 − mean)·κ), up to a constant.
    static func betaBinomialFit(
        _ concentration: Double, mean: Double, raters: [Int], weights: [Double], neutral: [Int], leaned: [Int]
    ) -> Double {
        let a = mean * concentration, b = (1 - mean) * concentration
        var total = 0.0
        for rater in raters {
            total += weights[rater] * (logBeta(Double(neutral[rater]) + a, Double(leaned[rater]) + b) - logBeta(a, b))
        }
        return total
    }

    /// The other part of the crowd on the grid: half at chance (|γ| ≤ 0.05: random
    /// clicking, scripts that ignore the content), half inverting (γ from −3 to
    /// −0.05: label flipping, more or less consistently).
    static let attackerPrior: [Double] = {
        let chance = normalised(grid.map { abs($0) <= attackerCeiling + 1e-9 ? 1 : 0 })
        let inverting = normalised(grid.map { $0 < -attackerCeiling ? 1 : 0 })
        return zip(chance, inverting).map { 0.5 * $0 + 0.5 * $1 }
    }()

    /// The honest prior on the grid: a normal restricted to γ > 0.
    static func honestPrior(logMedian: Double, logSpread: Double) -> [Double] {
        normalised(grid.map { $0 > 0 ? exp(-0.5 * pow((log($0) - logMedian) / logSpread, 2)) / $0 : 0 })
    }

    static func normalised(_ weights: [Double]) -> [Double] {
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }

    public static func sigmoid(_ t: Double) -> Double { t >= 0 ? 1 / (1 + exp(-t)) : exp(t) / (1 + exp(t)) }

    static func logSigmoid(_ t: Double) -> Double { t >= 0 ? -log1p(exp(-t)) : t - log1p(exp(t)) }

    /// The probability that an honest rater of this crowd, judging exactly the
    /// pairs `rater` judged, goes against the lean at least `against` times: the
    /// sum of independent Bernoulli trials (one per pair, each with its own
    /// difficulty), averaged over the honest sharpness distribution (its quantiles
    /// at 5%, 15%, …, 95%). The empirical null behind a reviewer-facing sentence.
    public func honestTail(rater: Int, context: RaterContext) -> Double {
        let against = raters[rater].against
        let leans = context.byRater[rater].compactMap { lean[$0] == 0 ? nil : abs(lean[$0]) }
        guard against > 0, !leans.isEmpty else { return 1 }
        var total = 0.0
        let quantiles = stride(from: 0.05, through: 0.95, by: 0.1).map { honestQuantile($0) }
        for gamma in quantiles {
            let chances = leans.map { Self.sigmoid(-gamma * $0) }
            // The exact sum is quadratic in the pairs; past 2,000 a normal with the
            // same mean and variance (continuity-corrected) is as good to the digits
            // a sentence shows, and a prolific rater does not stall the report.
            if chances.count > 2000 {
                let mean = chances.reduce(0, +)
                let variance = chances.reduce(0) { $0 + $1 * (1 - $1) }
                total += 1 - Self.normalCDF((Double(against) - 0.5 - mean) / max(1e-9, variance.squareRoot()))
            } else {
                total += Self.poissonBinomialUpper(against, chances)
            }
        }
        return min(1, total / Double(quantiles.count))
    }

    /// P(at least `k` successes) for independent trials with success probabilities
    /// `q` (the Poisson-binomial upper tail), by dynamic programming.
    public static func poissonBinomialUpper(_ k: Int, _ q: [Double]) -> Double {
        guard k > 0 else { return 1 }
        guard k <= q.count else { return 0 }
        var distribution = [Double](repeating: 0, count: q.count + 1)
        distribution[0] = 1
        for (count, p) in q.enumerated() {
            for j in stride(from: count + 1, through: 1, by: -1) { distribution[j] = distribution[j] * (1 - p) + distribution[j - 1] * p }
            distribution[0] *= 1 - p
        }
        return min(1, distribution[k...].reduce(0, +))
    }

    /// A quantile of the honest sharpness distribution (log-normal).
    func honestQuantile(_ q: Double) -> Double {
        var low = -10.0, high = 10.0
        for _ in 0..<60 {
            let mid = (low + high) / 2
            if Self.normalCDF(mid) < q { low = mid } else { high = mid }
        }
        return honestMedian * exp(honestLogSpread * (low + high) / 2)
    }

    static func normalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }
}
