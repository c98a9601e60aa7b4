/// Agreement with the others' consensus, against a null a margin below the crowd's
/// median agreement: low for random clickers, label flippers and careless raters.
struct ConsensusSignal: RaterSignal {
    let name = "consensus"
    let usesConsensus = true

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        let counts = (0..<context.raters).map { rater -> (hits: Int, n: Int) in
            var agree = 0, n = 0
            for index in context.byRater[rater] {
                guard let label = context.consensus[index] else { continue }
                n += 1
                if label == context.firsts[index].category { agree += 1 }
            }
            return (agree, n)
        }
        let crowd = context.crowdMedian(counts)
        let null = min(0.95, max(0.3, (crowd.isNaN ? 0.7 : crowd) - context.options.agreementMargin))
        return context.findings(counts) { rater, agree, n in
            SignalFinding(
                rater: rater, p: Statistics.binomialLower(agree, n, null),
                numbers: ["rate": Double(agree) / Double(n), "n": Double(n), "crowd_median": crowd],
                detail: "agrees with the other raters' consensus on \(agree) of \(n) pairs (crowd median \(RaterContext.percent(crowd)))")
        }
    }
}
