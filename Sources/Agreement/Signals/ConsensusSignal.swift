/// Following the crowd, judged by the fitted ``CrowdModel``: the finding's `p` is
/// the posterior probability that the rater belongs to the honest part of *this*
/// crowd (random clickers, label flippers and careless raters land near zero).
/// The numbers keep the plain agreement with the leave-one-out consensus too.
struct ConsensusSignal: RaterSignal {
    static let signalName = "consensus"
    let name = Self.signalName
    let aboutAccuracy = true
    let usesConsensus = true
    let correction = SignalCorrection.posterior

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        let crowd = context.crowd!
        let counts = (0..<context.raters).map { rater -> (hits: Int, n: Int) in
            var agree = 0, n = 0
            for index in context.byRater[rater] {
                guard let label = context.consensus[index] else { continue }
                n += 1
                if label == context.firsts[index].category { agree += 1 }
            }
            return (agree, n)
        }
        let median = context.crowdMedian(counts)
        return (0..<context.raters).compactMap { rater in
            let model = crowd.raters[rater]
            guard model.leaned > 0 || counts[rater].n > 0 else { return nil }
            var numbers: [String: Double] = [
                "rate": counts[rater].n > 0 ? Double(counts[rater].hits) / Double(counts[rater].n) : .nan, "n": Double(counts[rater].n),
                "crowd_median": median, "honest_probability": model.honestProbability, "sharpness": model.sharpness,
                "leaned": Double(model.leaned), "against": Double(model.against), "expected_against": model.expectedAgainst,
                "enough_evidence": model.enoughEvidence ? 1 : 0,
            ]
            var detail =
                "picked against the other raters' lean on \(model.against) of \(model.leaned) pairs where they leaned one way; "
                + "an honest rater of this crowd would on about \(Self.count(model.expectedAgainst))"
            if model.honestProbability < 0.5 {
                let tail = crowd.honestTail(rater: rater, context: context)
                numbers["honest_tail"] = tail
                detail += ", and on \(model.against) or more \(Self.odds(tail))"
            }
            detail += " (probability honest \(Self.probability(model.honestProbability)))"
            return SignalFinding(rater: rater, p: model.honestProbability, numbers: numbers, detail: detail)
        }
    }

    static func count(_ value: Double) -> String {
        value < 10 ? String(Double((value * 10).rounded()) / 10) : String(Int(value.rounded()))
    }

    /// `"less than 1 time in 1,000"`, `"about 1 time in 40"`.
    static func odds(_ p: Double) -> String {
        if p < 1e-6 { return "less than 1 time in a million" }
        if p < 1e-3 { return "less than 1 time in 1,000" }
        if p >= 0.5 { return "more often than not" }
        return "about 1 time in \(Int((1 / p).rounded()))"
    }

    static func probability(_ p: Double) -> String {
        if p < 0.0001 { return "< 0.0001" }
        if p > 0.9999 { return "> 0.9999" }
        return String(Double((p * 10000).rounded()) / 10000)
    }
}
