/// Gold accuracy: right on fewer gold pairs than a 60% null allows (from 5 gold
/// judgements on), with the Beta(1, 1) posterior mean reported.
struct GoldSignal: RaterSignal {
    let name = "gold"
    let usesConsensus = false
    let finding = RaterFinding.unreliable

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        (0..<context.raters).compactMap { rater in
            var correct = 0, n = 0
            for index in context.byRater[rater] {
                guard let gold = context.units[context.firsts[index].unit].gold else { continue }
                n += 1
                if context.firsts[index].category == gold { correct += 1 }
            }
            guard n >= 5 else { return nil }
            return SignalFinding(
                rater: rater, p: Statistics.binomialLower(correct, n, 0.6),
                numbers: ["correct": Double(correct), "n": Double(n), "posterior_mean": Double(correct + 1) / Double(n + 2)],
                detail: "\(correct) of \(n) gold pairs right")
        }
    }
}
