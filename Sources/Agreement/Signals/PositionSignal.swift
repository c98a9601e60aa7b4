import Glibc

/// Position bias: how often the response shown on the left wins among decisive
/// choices, two-sided — against what this rater would pick if they judged the
/// responses and not the sides. Each choice's honest chance of landing on the left
/// is the ``CrowdModel``'s for the rater's own sharpness and the other raters'
/// lean on the pair, `σ(γ·x)` for the side shown there (½ where the others do not
/// lean). A careful rater's left picks follow where the better response happened
/// to be shown, however uneven that was; a rater clicking left (or left when
/// unsure) goes beyond it. Tested against a fair coin instead, a rater right on
/// every pair was flagged whenever the random sides put the better response on
/// the left 45% of the time.
struct PositionSignal: RaterSignal {
    let name = "position"
    let usesConsensus = true
    /// Up to this many choices the tail is exact (Poisson-binomial); beyond, normal.
    static let exactUpTo = 300

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        let crowd = context.crowd
        return (0..<context.raters).compactMap { rater in
            let gamma = crowd.map { max(0, $0.raters[rater].sharpness) } ?? 0
            var left = 0
            var chances: [Double] = []
            for index in context.byRater[rater] {
                let judgement = context.firsts[index]
                guard judgement.category < 2, let swapped = judgement.shownSwapped else { continue }
                if (judgement.category == 0) != swapped { left += 1 }
                let pickA = CrowdModel.sigmoid(gamma * (crowd?.lean[index] ?? 0))
                chances.append(swapped ? 1 - pickA : pickA)
            }
            let n = chances.count
            guard n >= context.options.minimumJudgements else { return nil }
            let expected = chances.reduce(0, +)
            let p = min(1, 2 * min(Self.upper(left, chances), Self.lower(left, chances)))
            return SignalFinding(
                rater: rater, p: p,
                numbers: ["left_rate": Double(left) / Double(n), "n": Double(n), "expected_left": expected],
                detail:
                    "picked the response shown on the left \(left) of \(n) times; judging the responses alone, about \(Int(expected.rounded())) would have been"
            )
        }
    }

    /// P(at least `k` left picks).
    static func upper(_ k: Int, _ chances: [Double]) -> Double {
        if chances.count <= exactUpTo { return CrowdModel.poissonBinomialUpper(k, chances) }
        let mean = chances.reduce(0, +)
        let deviation = chances.reduce(0) { $0 + $1 * (1 - $1) }.squareRoot()
        guard deviation > 0 else { return Double(k) <= mean ? 1 : 0 }
        return 0.5 * erfc((Double(k) - 0.5 - mean) / (deviation * 2.0.squareRoot()))
    }

    /// P(at most `k` left picks).
    static func lower(_ k: Int, _ chances: [Double]) -> Double {
        1 - upper(k + 1, chances)
    }
}
