/// Contradicting the reward model's confident out-of-fold predictions (p ≥ 0.8
/// for one side), more often than the crowd's median rate plus a margin.
struct RewardModelSignal: RaterSignal {
    let name = "reward_model"
    let usesConsensus = false
    let finding = RaterFinding.unreliable

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        let counts = (0..<context.raters).map { rater -> (hits: Int, n: Int) in
            var against = 0, n = 0
            for index in context.byRater[rater] {
                let judgement = context.firsts[index]
                guard judgement.category < 2, let p = context.units[judgement.unit].modelPreferenceA, p >= 0.8 || p <= 0.2 else { continue }
                n += 1
                if (judgement.category == 0) != (p >= 0.8) { against += 1 }
            }
            return (against, n)
        }
        let crowd = context.crowdMedian(counts)
        let null = min(0.9, (crowd.isNaN ? 0.1 : crowd) + context.options.rateMargin)
        return context.findings(counts) { rater, against, n in
            SignalFinding(
                rater: rater, p: Statistics.binomialUpper(against, n, null),
                numbers: ["rate": Double(against) / Double(n), "n": Double(n), "crowd_median": crowd],
                detail:
                    "contradicted the reward model's confident out-of-fold prediction on \(against) of \(n) pairs (crowd median \(RaterContext.percent(crowd)))"
            )
        }
    }
}
