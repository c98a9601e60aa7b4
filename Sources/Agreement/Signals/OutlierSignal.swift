import Glibc

/// Outlier test in the style of Chatbot Arena's: each vote's p-value under the
/// others' votes on the same pair (smoothed), combined per rater with Fisher's method.
struct OutlierSignal: RaterSignal {
    let name = "outlier"
    let usesConsensus = true
    let finding = RaterFinding.unreliable

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        var logSums = [Double](repeating: 0, count: context.raters)
        var votes = [Int](repeating: 0, count: context.raters)
        for indices in context.byUnit where indices.count >= 3 {
            for index in indices {
                let judgement = context.firsts[index]
                let others = context.others(of: index)
                let total = Double(others[0] + others[1] + others[2] + others[3])
                guard total >= 2 else { continue }
                let observed = (Double(others[judgement.category]) + 0.5) / (total + 2)
                var p = 0.0
                for category in 0..<4 {
                    let q = (Double(others[category]) + 0.5) / (total + 2)
                    if q <= observed + 1e-12 { p += q }
                }
                logSums[judgement.rater] += log(min(1, p))
                votes[judgement.rater] += 1
            }
        }
        return (0..<context.raters).compactMap { rater in
            guard votes[rater] >= context.options.minimumJudgements else { return nil }
            let statistic = -2 * logSums[rater]
            let p = Statistics.chiSquareSurvival(statistic, degreesOfFreedom: 2 * votes[rater])
            return SignalFinding(
                rater: rater, p: p, numbers: ["fisher_statistic": statistic, "votes": Double(votes[rater])],
                detail:
                    "votes unlike the other raters' on the same pairs (Fisher's χ² = \(Int(statistic.rounded())) on \(2 * votes[rater]) df)"
            )
        }
    }
}
