/// Collusion: two raters who leave everyone else's consensus *together*. On each
/// pair both judged, the others' consensus (without either of them) is the
/// yardstick; honest raters rarely leave it in the same direction. Rater pairs are
/// tested (≥ 8 shared pairs, 10% null) and corrected across pairs, so the
/// finding's `p` is already adjusted.
struct CollusionSignal: RaterSignal {
    let name = "collusion"
    let usesConsensus = true
    let correction = SignalCorrection.selfAdjusted

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        // One word per (rater pair, pair judged by both): the pair key and a bit for
        // "left the consensus together"; sorted, then read run by run.
        var words: [UInt64] = []
        for indices in context.byUnit where indices.count >= 4 {
            for i in 0..<indices.count {
                for j in (i + 1)..<indices.count {
                    let a = context.firsts[indices[i]]
                    let b = context.firsts[indices[j]]
                    let others = context.others(of: indices[i], also: indices[j])
                    guard others[0] + others[1] + others[2] + others[3] >= 2, let yardstick = RaterContext.uniqueMajority(others) else { continue }
                    let joint: UInt64 = a.category == b.category && a.category != yardstick ? 1 : 0
                    words.append(UInt64(min(a.rater, b.rater)) << 33 | UInt64(max(a.rater, b.rater)) << 1 | joint)
                }
            }
        }
        words.sort()
        var tests: [(a: Int, b: Int, joint: Int, n: Int, p: Double)] = []
        var start = 0
        while start < words.count {
            let key = words[start] >> 1
            var end = start
            var joint = 0
            while end < words.count && words[end] >> 1 == key {
                joint += Int(words[end] & 1)
                end += 1
            }
            if end - start >= 8 {
                tests.append((Int(key >> 32), Int(key & 0xFFFF_FFFF), joint, end - start, Statistics.binomialUpper(joint, end - start, 0.1)))
            }
            start = end
        }
        let adjusted = Statistics.benjaminiHochberg(tests.map(\.p))
        var partners = Array(repeating: [(partner: Int, adjusted: Double, agree: Int, n: Int)](), count: context.raters)
        for (index, test) in tests.enumerated() where adjusted[index] < context.options.falseDiscoveryRate {
            partners[test.a].append((test.b, adjusted[index], test.joint, test.n))
            partners[test.b].append((test.a, adjusted[index], test.joint, test.n))
        }
        return (0..<context.raters).compactMap { rater in
            guard let best = partners[rater].min(by: { $0.adjusted < $1.adjusted }) else { return nil }
            return SignalFinding(
                rater: rater, p: best.adjusted, numbers: ["partners": Double(partners[rater].count)],
                detail: "leaves the consensus together with \(partners[rater].count) other rater(s) (e.g. on \(best.agree) of \(best.n) pairs shared with rater #\(best.partner))")
        }
    }
}
