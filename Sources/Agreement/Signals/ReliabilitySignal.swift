/// Unreliable: a rater whose labels are far enough below this crowd's that
/// counting them lowers label quality — not an attacker, just not good enough.
///
/// The evidence is each rater's accuracy on the pairs the *other* raters settle
/// (their class-conditional Dawid–Skene posterior for one side ≥ 0.9, see
/// ``ClassConditionalCrowd``), counted in expectation over that posterior. The
/// yardstick is this crowd's strong raters: `strong` = the 90th percentile of those
/// accuracies, weighted by how many settled pairs each rater judged. A rater is
/// unreliable when their accuracy is, with posterior probability ≥ 99%
/// (Beta(right + 1, wrong + 1)), below
///
///     threshold = ½ + 0.7 · (strong − ½)
///
/// — less than 70% as far above a coin as the crowd's strong raters. The finding's
/// `p` is the posterior probability that they are at or above it, so few raters
/// are flagged by chance: the sum of those probabilities over the flagged is the
/// expected number of false flags. Evidence grows with the pairs: 8 right of 20 in
/// a crowd whose strong raters are at 86% is enough (P ≈ 0.999); 14 of 20 is not.
/// Checked on real crowds with gold answers and on the simulators
/// (`Benchmarks/raters/real.sh`, `run.sh`; docs/QUALITY.md).
struct ReliabilitySignal: RaterSignal {
    let name = "reliability"
    let aboutAccuracy = true
    let usesConsensus = true
    let correction = SignalCorrection.posterior
    let finding = RaterFinding.unreliable

    /// How far above a coin, relative to the crowd's strong raters, is still reliable.
    static let shareOfStrong = 0.7
    /// The percentile of raters' accuracies that stands for "strong".
    static let strongQuantile = 0.9
    /// Raters with fewer settled pairs do not set the yardstick.
    static let minimumForYardstick = 10

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        let decisive = context.reliability.decisive
        let yardstick = (0..<context.raters).filter {
            decisive[$0].pairs >= Self.minimumForYardstick && !context.excluded.contains($0)
        }
        guard !yardstick.isEmpty else { return [] }
        let rates = yardstick.map { decisive[$0].right / Double(decisive[$0].pairs) }
        let weights = yardstick.map { Double(decisive[$0].pairs) }
        let strong = Statistics.weightedQuantile(rates, weights: weights, Self.strongQuantile)
        let threshold = 0.5 + Self.shareOfStrong * (strong - 0.5)
        // The reliable raters' range, for the sentence.
        let reliable = yardstick.filter {
            Statistics.betaCDF(threshold, decisive[$0].right + 1, Double(decisive[$0].pairs) - decisive[$0].right + 1) < 0.5
        }
        let low = Statistics.weightedQuantile(
            reliable.map { decisive[$0].right / Double(decisive[$0].pairs) },
            weights: reliable.map { Double(decisive[$0].pairs) }, 0.1)
        return (0..<context.raters).compactMap { rater in
            let (right, pairs) = decisive[rater]
            guard pairs >= 1 else { return nil }
            let wrong = Double(pairs) - right
            let below = Statistics.betaCDF(threshold, right + 1, wrong + 1)
            let rate = right / Double(pairs)
            let range =
                low.isNaN ? "" : "; this crowd's reliable raters are at \(RaterContext.percent(low))–\(RaterContext.percent(strong))"
            return SignalFinding(
                rater: rater, p: 1 - below,
                numbers: [
                    "rate": rate, "settled_pairs": Double(pairs), "threshold": threshold, "strong": strong,
                    "probability_below": below,
                ],
                detail: "right by the other raters on \(RaterContext.percent(rate)) of \(pairs) pairs they settled\(range) "
                    + "(probability below \(RaterContext.percent(threshold)): \(ConsensusSignal.probability(below)))")
        }
    }
}
