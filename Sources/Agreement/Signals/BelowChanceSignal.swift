/// Below chance: on pairs where the other raters lean one way, an honest rater —
/// however noisy — goes with the lean at least half the time in expectation. One
/// who goes against it in more than half, beyond what chance allows (binomial
/// against 50%, corrected across raters), is inverting labels.
struct BelowChanceSignal: RaterSignal {
    let name = "below_chance"
    let aboutAccuracy = true
    let usesConsensus = true

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        let crowd = context.crowd!
        return (0..<context.raters).compactMap { rater in
            let model = crowd.raters[rater]
            guard model.leaned >= context.options.minimumJudgements else { return nil }
            let with = model.leaned - model.against
            return SignalFinding(
                rater: rater, p: Statistics.binomialUpper(model.against, model.leaned, 0.5),
                numbers: ["with": Double(with), "against": Double(model.against), "n": Double(model.leaned)],
                detail:
                    "went with the other raters' lean on only \(with) of \(model.leaned) pairs (\(RaterContext.percent(Double(with) / Double(model.leaned)))), "
                    + "below the 50% any honest rater reaches")
        }
    }
}
