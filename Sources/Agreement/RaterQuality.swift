import Dispatch
import Glibc

/// Rater quality and poisoning signals. Each signal is a one-sided test giving a
/// p-value per rater; p-values are adjusted per signal across raters with
/// Benjamini–Hochberg, so that among flagged raters few are honest (precision),
/// and a rater is flagged when any adjusted p-value passes the false discovery
/// rate. Nulls are set from the crowd itself (medians, with a margin), so honest
/// raters of ordinary noise are not what the tests find.
public enum RaterQuality {
    public struct Options: Sendable {
        /// Benjamini–Hochberg false discovery rate per signal.
        public var falseDiscoveryRate = 0.01
        /// A signal needs at least this many judgements from a rater.
        public var minimumJudgements = 10
        /// How far below the crowd's median agreement the null sits.
        public var agreementMargin = 0.15
        /// Slack above the crowd's rate for "more than the crowd" tests.
        public var rateMargin = 0.1
        public init() {}
    }

    /// Assesses every rater. Two passes: the second recomputes the consensus
    /// without the votes of raters the first pass flagged, so that attackers do
    /// not blur the yardstick the others are measured by.
    public static func assess(_ judgements: [RatedJudgement], units: [UnitFacts], raters: Int, options: Options = Options()) -> [RaterAssessment] {
        // Dawid–Skene runs on another core while the signals are computed.
        let firsts = judgements.filter { !$0.isRepeat }.map { (unit: $0.unit, rater: $0.rater, label: $0.category) }
        let model = ResultBox<DawidSkene.Result>()
        let group = DispatchGroup()
        let unitCount = units.count
        DispatchQueue.global().async(group: group) {
            model.value = DawidSkene.estimate(firsts, units: unitCount, raters: raters, maxIterations: 30, tolerance: 1e-4)
        }
        let (first, raw) = assessOnce(judgements, units: units, raters: raters, options: options, excluded: [], reuse: nil)
        let excluded = Set(first.filter(\.flagged).map(\.rater))
        // The second pass recomputes only what depends on the consensus.
        var assessments = excluded.isEmpty
            ? first : assessOnce(judgements, units: units, raters: raters, options: options, excluded: excluded, reuse: raw).assessments
        // Dawid–Skene: each rater's estimated accuracy and confusion matrix (numbers, not a flag).
        group.wait()
        guard let model = model.value else { return assessments }
        for index in assessments.indices {
            var numbers: [String: Double] = ["accuracy": model.accuracy[index]]
            for truth in 0..<4 { numbers["p_correct_\(["A", "B", "tie", "both_bad"][truth])"] = model.confusion[index][truth * 4 + truth] }
            assessments[index].signals["dawid_skene"] = numbers
        }
        return assessments
    }

    /// Carries a result from a worker thread; read only after the group is waited on.
    final class ResultBox<T>: @unchecked Sendable {
        // @unchecked Sendable: written once on the worker, read after DispatchGroup.wait().
        var value: T?
    }

    /// Signals that do not depend on the consensus, kept from the first pass.
    struct RawSignals {
        var signals: [[String: [String: Double]]]
        var pValues: [String: [Int: Double]]
        var details: [String: [Int: String]]
        static let independent: Set<String> = ["position", "speed", "neutral_overuse", "gold", "self_consistency", "cycles", "reward_model"]
    }

    static func assessOnce(
        _ judgements: [RatedJudgement], units: [UnitFacts], raters: Int, options: Options, excluded: Set<Int>, reuse: RawSignals?
    ) -> (assessments: [RaterAssessment], raw: RawSignals) {
        // Per-unit facts as flat arrays: reading a UnitFacts copies (and retains)
        // its token array, which costs more than the signals themselves.
        let lengthA = units.map(\.lengthA)
        let lengthB = units.map(\.lengthB)
        let firsts = judgements.filter { !$0.isRepeat }
        var byUnit = Array(repeating: [Int](), count: units.count)
        for (index, judgement) in firsts.enumerated() { byUnit[judgement.unit].append(index) }
        var byRater = Array(repeating: [Int](), count: raters)
        for (index, judgement) in firsts.enumerated() { byRater[judgement.rater].append(index) }

        // Leave-one-out consensus: the unique majority of the others' categories.
        var consensus = Array<Int?>(repeating: nil, count: firsts.count)
        for indices in byUnit where indices.count >= 3 {
            var counts = [0, 0, 0, 0]
            for index in indices where !excluded.contains(firsts[index].rater) { counts[firsts[index].category] += 1 }
            for index in indices {
                var others = counts
                if !excluded.contains(firsts[index].rater) { others[firsts[index].category] -= 1 }
                guard others.reduce(0, +) >= 2 else { continue }
                let best = others.max()!
                if best > 0 && others.filter({ $0 == best }).count == 1 { consensus[index] = others.firstIndex(of: best) }
            }
        }

        var signals = Array(repeating: [String: [String: Double]](), count: raters)
        var pValues: [String: [Int: Double]] = [:]
        var details: [String: [Int: String]] = [:]
        func record(_ name: String, _ rater: Int, p: Double, numbers: [String: Double], detail: String) {
            var values = numbers
            values["p"] = p
            signals[rater][name] = values
            pValues[name, default: [:]][rater] = p
            details[name, default: [:]][rater] = detail
        }
        func percent(_ value: Double) -> String { "\(Int((value * 100).rounded()))%" }
        if let reuse {
            for rater in 0..<raters {
                for (name, numbers) in reuse.signals[rater] where RawSignals.independent.contains(name) { signals[rater][name] = numbers }
            }
            for name in RawSignals.independent {
                if let values = reuse.pValues[name] { pValues[name] = values }
                if let values = reuse.details[name] { details[name] = values }
            }
        }

        // 1. Agreement with the consensus.
        var agreementRate = Array(repeating: 0.7, count: raters)
        var agreementCounts = Array(repeating: (agree: 0, n: 0), count: raters)
        for rater in 0..<raters {
            var agree = 0
            var n = 0
            for index in byRater[rater] {
                guard let label = consensus[index] else { continue }
                n += 1
                if label == firsts[index].category { agree += 1 }
            }
            agreementCounts[rater] = (agree, n)
            if n > 0 { agreementRate[rater] = Double(agree) / Double(n) }
        }
        let crowdAgreement = Statistics.median(agreementCounts.filter { $0.n >= options.minimumJudgements }.map { Double($0.agree) / Double($0.n) })
        let agreementNull = min(0.95, max(0.3, (crowdAgreement.isNaN ? 0.7 : crowdAgreement) - options.agreementMargin))
        for rater in 0..<raters where agreementCounts[rater].n >= options.minimumJudgements {
            let (agree, n) = agreementCounts[rater]
            record("consensus", rater, p: Statistics.binomialLower(agree, n, agreementNull),
                   numbers: ["rate": Double(agree) / Double(n), "n": Double(n), "crowd_median": crowdAgreement],
                   detail: "agrees with the other raters' consensus on \(agree) of \(n) pairs (crowd median \(percent(crowdAgreement)))")
        }

        if reuse == nil {
            // 2. Position bias: the side shown left, among decisive choices.
            for rater in 0..<raters {
                var left = 0
                var n = 0
                for index in byRater[rater] {
                    let judgement = firsts[index]
                    guard judgement.category < 2, let swapped = judgement.shownSwapped else { continue }
                    n += 1
                    if (judgement.category == 0) != swapped { left += 1 }
                }
                guard n >= options.minimumJudgements else { continue }
                let p = min(1, 2 * min(Statistics.binomialUpper(left, n, 0.5), Statistics.binomialLower(left, n, 0.5)))
                record("position", rater, p: p, numbers: ["left_rate": Double(left) / Double(n), "n": Double(n)],
                       detail: "picked the response shown on the left \(left) of \(n) times")
            }

            // 4. Speed: judgements faster than the text can be read (1 s + 2 ms per character).
            var fastCounts = Array(repeating: (fast: 0, n: 0), count: raters)
            for rater in 0..<raters {
                for index in byRater[rater] {
                    let judgement = firsts[index]
                    guard let duration = judgement.durationMilliseconds else { continue }
                    fastCounts[rater].n += 1
                    if duration < 1000 + 2 * (lengthA[judgement.unit] + lengthB[judgement.unit]) { fastCounts[rater].fast += 1 }
                }
            }
            let crowdFast = Statistics.median(fastCounts.filter { $0.n >= options.minimumJudgements }.map { Double($0.fast) / Double($0.n) })
            for rater in 0..<raters where fastCounts[rater].n >= options.minimumJudgements {
                let (fast, n) = fastCounts[rater]
                let null = min(0.9, max(0.05, (crowdFast.isNaN ? 0 : crowdFast)) + options.rateMargin)
                record("speed", rater, p: Statistics.binomialUpper(fast, n, null), numbers: ["fast_rate": Double(fast) / Double(n), "n": Double(n)],
                       detail: "\(fast) of \(n) judgements faster than the responses can be read")
            }

            // 5. Tie / both-bad overuse.
            let neutralRates = (0..<raters).map { rater -> (neutral: Int, n: Int) in
                let indices = byRater[rater]
                return (indices.filter { firsts[$0].category >= 2 }.count, indices.count)
            }
            let crowdNeutral = Statistics.median(neutralRates.filter { $0.n >= options.minimumJudgements }.map { Double($0.neutral) / Double($0.n) })
            for rater in 0..<raters where neutralRates[rater].n >= options.minimumJudgements {
                let (neutral, n) = neutralRates[rater]
                let null = min(0.95, (crowdNeutral.isNaN ? 0.2 : crowdNeutral) + 2 * options.rateMargin)
                record("neutral_overuse", rater, p: Statistics.binomialUpper(neutral, n, null), numbers: ["rate": Double(neutral) / Double(n), "n": Double(n)],
                       detail: "chose tie or both bad \(neutral) of \(n) times (crowd median \(percent(crowdNeutral)))")
            }

            // 6. Gold accuracy, with a Beta(1, 1) prior.
            for rater in 0..<raters {
                var correct = 0
                var n = 0
                for index in byRater[rater] {
                    guard let gold = units[firsts[index].unit].gold else { continue }
                    n += 1
                    if firsts[index].category == gold { correct += 1 }
                }
                guard n >= 5 else { continue }
                record("gold", rater, p: Statistics.binomialLower(correct, n, 0.6),
                       numbers: ["correct": Double(correct), "n": Double(n), "posterior_mean": Double(correct + 1) / Double(n + 2)],
                       detail: "\(correct) of \(n) gold pairs right")
            }

            // 7. Self-consistency on repeats (shown the other way round).
            var firstChoice: [Int64: Int] = [:]
            let repeats = judgements.filter(\.isRepeat)
            if !repeats.isEmpty {
                let wanted = Set(repeats.map { Int64($0.unit) << 32 | Int64($0.rater) })
                for judgement in firsts where wanted.contains(Int64(judgement.unit) << 32 | Int64(judgement.rater)) {
                    firstChoice[Int64(judgement.unit) << 32 | Int64(judgement.rater)] = judgement.category
                }
            }
            var repeatCounts = Array(repeating: (same: 0, n: 0), count: raters)
            for judgement in repeats {
                guard let original = firstChoice[Int64(judgement.unit) << 32 | Int64(judgement.rater)] else { continue }
                repeatCounts[judgement.rater].n += 1
                if original == judgement.category { repeatCounts[judgement.rater].same += 1 }
            }
            for rater in 0..<raters where repeatCounts[rater].n >= 5 {
                let (same, n) = repeatCounts[rater]
                record("self_consistency", rater, p: Statistics.binomialLower(same, n, 0.6), numbers: ["rate": Double(same) / Double(n), "n": Double(n)],
                       detail: "repeated \(same) of \(n) earlier judgements when shown swapped")
            }

            // 12. Contradicting the reward model's confident out-of-fold predictions
            // (p ≥ 0.8 for one side), against the crowd's median contradiction rate.
            var contradictions = Array(repeating: (against: 0, n: 0), count: raters)
            for rater in 0..<raters {
                for index in byRater[rater] {
                    let judgement = firsts[index]
                    guard judgement.category < 2, let p = units[judgement.unit].modelPreferenceA, p >= 0.8 || p <= 0.2 else { continue }
                    contradictions[rater].n += 1
                    if (judgement.category == 0) != (p >= 0.8) { contradictions[rater].against += 1 }
                }
            }
            let crowdContradiction = Statistics.median(
                contradictions.filter { $0.n >= options.minimumJudgements }.map { Double($0.against) / Double($0.n) })
            for rater in 0..<raters where contradictions[rater].n >= options.minimumJudgements {
                let (against, n) = contradictions[rater]
                let null = min(0.9, (crowdContradiction.isNaN ? 0.1 : crowdContradiction) + options.rateMargin)
                record("reward_model", rater, p: Statistics.binomialUpper(against, n, null),
                       numbers: ["rate": Double(against) / Double(n), "n": Double(n), "crowd_median": crowdContradiction],
                       detail: "contradicted the reward model's confident out-of-fold prediction on \(against) of \(n) pairs (crowd median \(percent(crowdContradiction)))")
            }

            // 11. Intransitive cycles among the rater's own choices on one prompt
            // (A over B, B over C, C over A), out of the triads they judged fully.
            for rater in 0..<raters {
                var edges: [Int: [(winner: Int, loser: Int)]] = [:]
                for index in byRater[rater] {
                    let judgement = firsts[index]
                    guard judgement.category < 2, let responses = units[judgement.unit].responses else { continue }
                    let (winner, loser) = judgement.category == 0 ? (responses.a, responses.b) : (responses.b, responses.a)
                    edges[responses.prompt, default: []].append((winner, loser))
                }
                var triads = 0
                var cycles = 0
                for (_, list) in edges where list.count >= 3 {
                    var beats = Set<Int64>()
                    var nodes = Set<Int>()
                    for edge in list {
                        beats.insert(Int64(edge.winner) << 32 | Int64(edge.loser))
                        nodes.insert(edge.winner)
                        nodes.insert(edge.loser)
                    }
                    let ordered = nodes.sorted()
                    func wins(_ x: Int, _ y: Int) -> Bool { beats.contains(Int64(x) << 32 | Int64(y)) }
                    func judged(_ x: Int, _ y: Int) -> Bool { wins(x, y) || wins(y, x) }
                    for i in 0..<ordered.count {
                        for j in (i + 1)..<ordered.count where judged(ordered[i], ordered[j]) {
                            for k in (j + 1)..<ordered.count where judged(ordered[i], ordered[k]) && judged(ordered[j], ordered[k]) {
                                triads += 1
                                let (a, b, c) = (ordered[i], ordered[j], ordered[k])
                                if (wins(a, b) && wins(b, c) && wins(c, a)) || (wins(b, a) && wins(c, b) && wins(a, c)) { cycles += 1 }
                            }
                        }
                    }
                }
                guard triads >= 3 else { continue }
                record("cycles", rater, p: Statistics.binomialUpper(cycles, triads, 0.25), numbers: ["cycles": Double(cycles), "triads": Double(triads)],
                       detail: "\(cycles) intransitive cycles among \(triads) fully judged triples of responses to one prompt")
            }
        }

        // 8. Collusion: two raters who deviate from everyone else *together*. On
        // each pair both judged, the others' consensus (without either of them)
        // is the yardstick; honest raters rarely leave it in the same direction.
        // One word per (rater pair, pair judged by both): pair key and a bit for
        // "left the consensus together"; sorted, then read run by run.
        var words: [UInt64] = []
        for indices in byUnit where indices.count >= 4 {
            var counts = [0, 0, 0, 0]
            for index in indices where !excluded.contains(firsts[index].rater) { counts[firsts[index].category] += 1 }
            for i in 0..<indices.count {
                for j in (i + 1)..<indices.count {
                    let a = firsts[indices[i]]
                    let b = firsts[indices[j]]
                    var others = counts
                    if !excluded.contains(a.rater) { others[a.category] -= 1 }
                    if !excluded.contains(b.rater) { others[b.category] -= 1 }
                    let best = max(max(others[0], others[1]), max(others[2], others[3]))
                    guard others[0] + others[1] + others[2] + others[3] >= 2, best > 0,
                          (others[0] == best ? 1 : 0) + (others[1] == best ? 1 : 0) + (others[2] == best ? 1 : 0) + (others[3] == best ? 1 : 0) == 1
                    else { continue }
                    let yardstick = others[0] == best ? 0 : others[1] == best ? 1 : others[2] == best ? 2 : 3
                    let joint: UInt64 = a.category == b.category && a.category != yardstick ? 1 : 0
                    words.append(UInt64(min(a.rater, b.rater)) << 33 | UInt64(max(a.rater, b.rater)) << 1 | joint)
                }
            }
        }
        words.sort()
        var pairTests: [(a: Int, b: Int, joint: Int, n: Int, p: Double)] = []
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
                pairTests.append((Int(key >> 32), Int(key & 0xFFFF_FFFF), joint, end - start, Statistics.binomialUpper(joint, end - start, 0.1)))
            }
            start = end
        }
        let pairAdjusted = Statistics.benjaminiHochberg(pairTests.map(\.p))
        var partners = Array(repeating: [(partner: Int, adjusted: Double, agree: Int, n: Int)](), count: raters)
        for (index, test) in pairTests.enumerated() where pairAdjusted[index] < options.falseDiscoveryRate {
            partners[test.a].append((test.b, pairAdjusted[index], test.joint, test.n))
            partners[test.b].append((test.a, pairAdjusted[index], test.joint, test.n))
        }

        // 3. Surface bias: on the pairs where the rater and the consensus pick
        // different responses, how often the rater's pick is the longer one. An
        // honest rater's departures are blind to length (50%); a verbosity script's
        // are not.
        for rater in 0..<raters {
            var longer = 0
            var n = 0
            var allLonger = 0
            var allDecisive = 0
            for index in byRater[rater] {
                let judgement = firsts[index]
                let a = lengthA[judgement.unit]
                let b = lengthB[judgement.unit]
                guard judgement.category < 2, a != b else { continue }
                let pickedLonger = (judgement.category == 0) == (a > b)
                allDecisive += 1
                if pickedLonger { allLonger += 1 }
                guard let label = consensus[index], label < 2, label != judgement.category else { continue }
                n += 1
                if pickedLonger { longer += 1 }
            }
            guard n >= 5 else { continue }
            record("length", rater, p: Statistics.binomialUpper(longer, n, 0.5 + options.rateMargin),
                   numbers: ["longer_when_departing": Double(longer) / Double(n), "departures": Double(n),
                             "longer_rate": allDecisive > 0 ? Double(allLonger) / Double(allDecisive) : .nan],
                   detail: "picked the longer response on \(longer) of the \(n) pairs where they went against the consensus")
        }

        // 10. Outlier test in the style of Chatbot Arena's: each vote's p-value under
        // the others' votes on the same pair (smoothed), combined per rater with
        // Fisher's method.
        var logSums = [Double](repeating: 0, count: raters)
        var votes = [Int](repeating: 0, count: raters)
        for indices in byUnit where indices.count >= 3 {
            var counts = [0, 0, 0, 0]
            for index in indices where !excluded.contains(firsts[index].rater) { counts[firsts[index].category] += 1 }
            for index in indices {
                let judgement = firsts[index]
                var others = counts
                if !excluded.contains(judgement.rater) { others[judgement.category] -= 1 }
                let total = Double(others[0] + others[1] + others[2] + others[3])
                guard total >= 2 else { continue }
                let observed = (Double(others[judgement.category]) + 0.5) / (total + 2)
                var p = 0.0
                for c in 0..<4 {
                    let q = (Double(others[c]) + 0.5) / (total + 2)
                    if q <= observed + 1e-12 { p += q }
                }
                logSums[judgement.rater] += log(min(1, p))
                votes[judgement.rater] += 1
            }
        }
        for rater in 0..<raters where votes[rater] >= options.minimumJudgements {
            let statistic = -2 * logSums[rater]
            let p = Statistics.chiSquareSurvival(statistic, degreesOfFreedom: 2 * votes[rater])
            record("outlier", rater, p: p, numbers: ["fisher_statistic": statistic, "votes": Double(votes[rater])],
                   detail: "votes unlike the other raters' on the same pairs (Fisher's χ² = \(Int(statistic.rounded())) on \(2 * votes[rater]) df)")
        }

        // 9. Targeted poisoning: disagreement concentrated on prompts with one token.
        var tokenStart = [Int](repeating: 0, count: units.count + 1)
        var tokenList: [Int32] = []
        for (index, facts) in units.enumerated() {
            tokenList.append(contentsOf: facts.tokens.map(Int32.init))
            tokenStart[index + 1] = tokenList.count
        }
        let tokenCount = Int(tokenList.max() ?? -1) + 1
        var tokenSeen = [Int](repeating: 0, count: tokenCount)
        var tokenDisagree = [Int](repeating: 0, count: tokenCount)
        for rater in 0..<raters {
            let comparable = byRater[rater].filter { consensus[$0] != nil }
            guard comparable.count >= options.minimumJudgements else { continue }
            let disagreeing = comparable.map { consensus[$0] != firsts[$0].category }
            let totalDisagree = disagreeing.filter { $0 }.count
            // Flat counters indexed by token id, reset after each rater.
            var touched: [Int] = []
            for (position, index) in comparable.enumerated() {
                let unit = firsts[index].unit
                for slot in tokenStart[unit]..<tokenStart[unit + 1] {
                    let token = Int(tokenList[slot])
                    if tokenSeen[token] == 0 { touched.append(token) }
                    tokenSeen[token] += 1
                    if disagreeing[position] { tokenDisagree[token] += 1 }
                }
            }
            var best: (token: Int, p: Double, disagree: Int, n: Int)?
            var tested = 0
            for token in touched {
                let n = tokenSeen[token]
                let disagree = tokenDisagree[token]
                tokenSeen[token] = 0
                tokenDisagree[token] = 0
                // Every token seen often enough to be tested counts toward the
                // correction, whether or not it shows disagreement (no selection).
                guard n >= 3 else { continue }
                tested += 1
                guard disagree >= 3 else { continue }
                let p = Statistics.fisherUpper(
                    a: disagree, b: n - disagree, c: totalDisagree - disagree, d: comparable.count - n - (totalDisagree - disagree))
                if best == nil || p < best!.p { best = (token, p, disagree, n) }
            }
            guard let best else { continue }
            let corrected = min(1, best.p * Double(max(1, tested)))
            record("trigger", rater, p: corrected, numbers: ["token": Double(best.token), "disagree": Double(best.disagree), "n": Double(best.n)],
                   detail: "disagrees with the consensus on \(best.disagree) of \(best.n) prompts containing token #\(best.token)")
        }

        // Benjamini–Hochberg per signal across raters, then flag and explain.
        var adjusted: [String: [Int: Double]] = [:]
        for (name, values) in pValues {
            let raterIDs = Array(values.keys)
            let corrected = Statistics.benjaminiHochberg(raterIDs.map { values[$0]! })
            adjusted[name] = Dictionary(uniqueKeysWithValues: zip(raterIDs, corrected))
        }
        let raw = RawSignals(signals: signals, pValues: pValues, details: details)
        let assessments = (0..<raters).map { rater in
            var reasons: [(signal: String, detail: String)] = []
            var strongest = 1.0
            var raterSignals = signals[rater]
            for name in pValues.keys.sorted() {
                guard let q = adjusted[name]?[rater] else { continue }
                raterSignals[name]?["adjusted_p"] = q
                strongest = min(strongest, q)
                if q < options.falseDiscoveryRate { reasons.append((name, details[name]?[rater] ?? name)) }
            }
            if let best = partners[rater].min(by: { $0.adjusted < $1.adjusted }) {
                strongest = min(strongest, best.adjusted)
                raterSignals["collusion"] = ["partners": Double(partners[rater].count), "adjusted_p": best.adjusted]
                reasons.append(("collusion", "leaves the consensus together with \(partners[rater].count) other rater(s) (e.g. on \(best.agree) of \(best.n) pairs shared with rater #\(best.partner))"))
            }
            return RaterAssessment(
                rater: rater, judgements: byRater[rater].count, flagged: !reasons.isEmpty,
                suspicion: max(0, min(1, 1 - strongest)), reasons: reasons, signals: raterSignals)
        }
        return (assessments, raw)
    }
}
