/// Speed: judgements faster than the text can be read (1 s + 2 ms per character),
/// more often than the crowd's median rate plus a margin.
struct SpeedSignal: RaterSignal {
    let name = "speed"
    let usesConsensus = false

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        let counts = (0..<context.raters).map { rater -> (hits: Int, n: Int) in
            var fast = 0, n = 0
            for index in context.byRater[rater] {
                let judgement = context.firsts[index]
                guard let duration = judgement.durationMilliseconds else { continue }
                n += 1
                if duration < 1000 + 2 * (context.lengthA[judgement.unit] + context.lengthB[judgement.unit]) { fast += 1 }
            }
            return (fast, n)
        }
        let crowd = context.crowdMedian(counts)
        let null = min(0.9, max(0.05, crowd.isNaN ? 0 : crowd) + context.options.rateMargin)
        return context.findings(counts) { rater, fast, n in
            SignalFinding(
                rater: rater, p: Statistics.binomialUpper(fast, n, null),
                numbers: ["fast_rate": Double(fast) / Double(n), "n": Double(n)],
                detail: "\(fast) of \(n) judgements faster than the responses can be read")
        }
    }
}
