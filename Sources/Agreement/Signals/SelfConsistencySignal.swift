/// Self-consistency: repeats (a pair shown again, the other way round) answered as
/// the first time less often than a 60% null allows (from 5 repeats on).
struct SelfConsistencySignal: RaterSignal {
    let name = "self_consistency"
    let usesConsensus = false
    let finding = RaterFinding.unreliable

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        guard !context.repeats.isEmpty else { return [] }
        func key(_ judgement: RatedJudgement) -> Int64 { Int64(judgement.unit) << 32 | Int64(judgement.rater) }
        let wanted = Set(context.repeats.map(key))
        var firstChoice: [Int64: Int] = [:]
        for judgement in context.firsts where wanted.contains(key(judgement)) { firstChoice[key(judgement)] = judgement.category }
        var counts = Array(repeating: (same: 0, n: 0), count: context.raters)
        for judgement in context.repeats {
            guard let original = firstChoice[key(judgement)] else { continue }
            counts[judgement.rater].n += 1
            if original == judgement.category { counts[judgement.rater].same += 1 }
        }
        return (0..<context.raters).compactMap { rater in
            let (same, n) = counts[rater]
            guard n >= 5 else { return nil }
            return SignalFinding(
                rater: rater, p: Statistics.binomialLower(same, n, 0.6), numbers: ["rate": Double(same) / Double(n), "n": Double(n)],
                detail: "repeated \(same) of \(n) earlier judgements when shown swapped")
        }
    }
}
