/// Position bias: how often the side shown on the left wins among decisive
/// choices, two-sided against 50%.
struct PositionSignal: RaterSignal {
    let name = "position"
    let usesConsensus = false

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        (0..<context.raters).compactMap { rater in
            var left = 0, n = 0
            for index in context.byRater[rater] {
                let judgement = context.firsts[index]
                guard judgement.category < 2, let swapped = judgement.shownSwapped else { continue }
                n += 1
                if (judgement.category == 0) != swapped { left += 1 }
            }
            guard n >= context.options.minimumJudgements else { return nil }
            let p = min(1, 2 * min(Statistics.binomialUpper(left, n, 0.5), Statistics.binomialLower(left, n, 0.5)))
            return SignalFinding(
                rater: rater, p: p, numbers: ["left_rate": Double(left) / Double(n), "n": Double(n)],
                detail: "picked the response shown on the left \(left) of \(n) times")
        }
    }
}
