/// Tie / both-bad overuse: the easy way out, more often than the crowd's median
/// rate plus twice the margin.
struct NeutralOveruseSignal: RaterSignal {
    let name = "neutral_overuse"
    let usesConsensus = false
    let finding = RaterFinding.unreliable

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        let counts = (0..<context.raters).map { rater -> (hits: Int, n: Int) in
            let indices = context.byRater[rater]
            return (indices.filter { context.firsts[$0].category >= 2 }.count, indices.count)
        }
        let crowd = context.crowdMedian(counts)
        let null = min(0.95, (crowd.isNaN ? 0.2 : crowd) + 2 * context.options.rateMargin)
        return context.findings(counts) { rater, neutral, n in
            SignalFinding(
                rater: rater, p: Statistics.binomialUpper(neutral, n, null),
                numbers: ["rate": Double(neutral) / Double(n), "n": Double(n)],
                detail: "chose tie or both bad \(neutral) of \(n) times (crowd median \(RaterContext.percent(crowd)))")
        }
    }
}
