import Glibc

/// Collusion: two raters who leave everyone else's consensus *together*. On each
/// pair both judged, the others' consensus (without either of them: the side their
/// class-conditional posterior settles on, or a tie / "both bad" majority) is the
/// yardstick; honest raters leave it together only as often as their own
/// class-conditional rates and the pair's difficulty explain (both right where the
/// others are probably wrong). Rater pairs are tested (≥ 8 shared pairs; each shared pair's
/// chance of a joint departure if the two chose independently, Poisson-binomial)
/// and corrected across pairs, so the finding's `p` is already adjusted.
struct CollusionSignal: RaterSignal {
    let name = "collusion"
    let usesConsensus = true
    let correction = SignalCorrection.selfAdjusted

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        // One entry per (rater pair, pair judged by both): the pair key with a bit for
        // "left the consensus together", and how likely these two raters are to do
        // so by their own habits if they chose independently. Sorted, then
        // read run by run; each rater pair's count of joint departures is tested
        // against the sum of those per-pair chances (Poisson-binomial).
        // Each rater as the others see them: how often they go with the others'
        // lean (a stand-in for accuracy, a little low since the lean is itself
        // noisy, which only makes the test more careful) and how often they call a
        // tie or both bad. On a shared pair, the chance that the two leave the
        // consensus *together* if they chose independently, each by their own
        // rates, given what the others' votes say about the truth:
        //   Σ_truth P(truth | others) · Σ_{c ≠ consensus} P(a picks c | truth) · P(b picks c | truth).
        // A hard pair whose consensus is probably wrong makes honest raters leave it
        // together (they are both right); that is not collusion.
        // Each rater's class-conditional rates (``ClassConditionalCrowd``): how often
        // they pick A when A is better and B when B is — a rater who answers "A"
        // whatever the pair is right on A pairs and tells nothing, which a single
        // accuracy would hide — and how often they call a tie or both bad.
        let reliability = context.reliability!
        var neutralRates = Array(repeating: (tie: 0.0, bad: 0.0), count: context.raters)
        for rater in 0..<context.raters {
            let indices = context.byRater[rater]
            let ties = indices.filter { context.firsts[$0].category == 2 }.count
            let bad = indices.filter { context.firsts[$0].category == 3 }.count
            neutralRates[rater] = ((Double(ties) + 0.25) / (Double(indices.count) + 1), (Double(bad) + 0.25) / (Double(indices.count) + 1))
        }
        func pick(_ rater: Int, _ category: Int, truth: Int) -> Double {
            let (tie, bad) = neutralRates[rater]
            let right = truth == 0 ? reliability.pickA[rater] : reliability.pickB[rater]
            switch category {
            case 2: return tie
            case 3: return bad
            default: return (1 - tie - bad) * (category == truth ? right : 1 - right)
            }
        }
        // One word per entry: rater pair (21 bits each), the chance quantised to 20
        // bits, the joint bit — plain integers sort fast, and sorting groups by pair.
        guard context.raters < 1 << 21 else { return [] }
        var entries: [UInt64] = []
        for (unit, indices) in context.byUnit.enumerated() where indices.count >= 4 {
            let counts = context.unitCounts[unit]
            for i in 0..<indices.count {
                for j in (i + 1)..<indices.count {
                    let a = context.firsts[indices[i]]
                    let b = context.firsts[indices[j]]
                    // The others' counts without a and b (no array per pair: this runs
                    // for every pair of raters on every pair).
                    var others = (counts[0], counts[1], counts[2], counts[3])
                    func remove(_ judgement: RatedJudgement) {
                        guard !context.excluded.contains(judgement.rater) else { return }
                        switch judgement.category {
                        case 0: others.0 -= 1
                        case 1: others.1 -= 1
                        case 2: others.2 -= 1
                        default: others.3 -= 1
                        }
                    }
                    remove(a)
                    remove(b)
                    guard others.0 + others.1 + others.2 + others.3 >= 2, let majority = Self.uniqueMajority(others) else { continue }
                    // The truth (A or B) as the other raters' votes weigh it, and the
                    // side they settle on: the consensus both would leave.
                    let truthA = CrowdModel.sigmoid(reliability.othersLogOdds(indices[i], unit: unit, also: indices[j]))
                    let yardstick = majority >= 2 ? majority : (truthA >= 0.5 ? 0 : 1)
                    var chance = 0.0
                    for category in 0..<4 where category != yardstick {
                        chance +=
                            truthA * pick(a.rater, category, truth: 0) * pick(b.rater, category, truth: 0)
                            + (1 - truthA) * pick(a.rater, category, truth: 1) * pick(b.rater, category, truth: 1)
                    }
                    let joint: UInt64 = a.category == b.category && a.category != yardstick ? 1 : 0
                    let quantised = UInt64((min(1, max(0.01, chance)) * Double((1 << 20) - 1)).rounded())
                    entries.append(UInt64(min(a.rater, b.rater)) << 42 | UInt64(max(a.rater, b.rater)) << 21 | quantised << 1 | joint)
                }
            }
        }
        entries.sort()
        var tests: [(a: Int, b: Int, joint: Int, n: Int, p: Double)] = []
        var start = 0
        var chances: [Double] = []
        while start < entries.count {
            let key = entries[start] >> 21
            var end = start
            var joint = 0
            chances.removeAll(keepingCapacity: true)
            while end < entries.count && entries[end] >> 21 == key {
                joint += Int(entries[end] & 1)
                chances.append(Double((entries[end] >> 1) & ((1 << 20) - 1)) / Double((1 << 20) - 1))
                end += 1
            }
            if end - start >= 8 {
                tests.append(
                    (Int(key >> 21), Int(key & ((1 << 21) - 1)), joint, end - start, CrowdModel.poissonBinomialUpper(joint, chances)))
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
                detail:
                    "leaves the consensus together with \(partners[rater].count) other rater(s) (e.g. on \(best.agree) of \(best.n) pairs shared with rater #\(best.partner))"
            )
        }
    }

    /// ``RaterContext/uniqueMajority(_:)`` on a tuple.
    static func uniqueMajority(_ counts: (Int, Int, Int, Int)) -> Int? {
        let best = max(counts.0, counts.1, counts.2, counts.3)
        guard best > 0 else { return nil }
        var winner: Int?
        for (category, count) in [(0, counts.0), (1, counts.1), (2, counts.2), (3, counts.3)] where count == best {
            if winner != nil { return nil }
            winner = category
        }
        return winner
    }
}
