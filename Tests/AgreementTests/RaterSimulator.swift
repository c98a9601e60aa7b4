import TestSupport
import Agreement

/// A seeded crowd: honest raters of varying noise and every kind of attacker,
/// judging pairs with a known truth. ~60 judgements per rater, 5 per pair.
struct RaterSimulator {
    enum Kind: String, CaseIterable {
        case honest, random, positionBiased = "position", labelFlipping = "flipping", tooFast = "fast", colluding, lengthScripted = "length",
            triggerTargeted = "trigger"
    }

    var judgements: [RatedJudgement] = []
    var units: [UnitFacts] = []
    var kinds: [Kind] = []
    static let trigger = 7

    init(seed: UInt64, honest: Int = 60, perAttackKind: Int = 3, judgementsPerRater: Int = 60, judgesPerPair: Int = 5) {
        var random = SplitMix(seed: seed)
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        func int(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }

        kinds = Array(repeating: .honest, count: honest)
        for kind in Kind.allCases where kind != .honest {
            kinds += Array(repeating: kind, count: kind == .colluding ? 4 : perAttackKind)
        }
        let raters = kinds.count
        let noise = (0..<raters).map { _ in 0.05 + 0.25 * uniform() }
        let unitCount = raters * judgementsPerRater / judgesPerPair
        var truth: [Int] = []
        for _ in 0..<unitCount {
            let lengthA = 100 + int(1900)
            let lengthB = 100 + int(1900)
            var tokens = Set((0..<8).map { _ in 10 + int(490) })
            if uniform() < 0.08 { tokens.insert(Self.trigger) }
            units.append(UnitFacts(lengthA: lengthA, lengthB: lengthB, tokens: tokens.sorted()))
            truth.append(uniform() < 0.9 ? int(2) : 2)  // mostly A or B, some ties
        }
        let ring = kinds.indices.filter { kinds[$0] == .colluding }
        var load = Array(repeating: 0, count: raters)
        for unit in 0..<unitCount {
            // The ring works together on every ninth pair, three members at a time.
            var judges = Set<Int>()
            if unit % 9 == 0 && ring.count == 4 {
                let resting = (unit / 9) % 4
                for (position, member) in ring.enumerated() where position != resting { judges.insert(member) }
            }
            while judges.count < judgesPerPair {
                // Prefer raters with fewer judgements so loads stay near the target.
                let candidate = (0..<4).map { _ in int(raters) }.min { load[$0] < load[$1] }!
                judges.insert(candidate)
            }
            let ringChoice = int(4)
            for rater in judges.sorted() {
                load[rater] += 1
                let swapped = uniform() < 0.5
                let facts = units[unit]
                let reading = 1000 + 2 * (facts.lengthA + facts.lengthB)
                var duration = reading + int(20_000)
                var category: Int
                switch kinds[rater] {
                case .honest:
                    category = uniform() < noise[rater] ? int(4) : truth[unit]
                case .random:
                    category = int(4)
                case .positionBiased:
                    category = swapped ? 1 : 0
                case .labelFlipping:
                    category = truth[unit] == 0 ? 1 : truth[unit] == 1 ? 0 : int(2)
                case .tooFast:
                    category = uniform() < 0.5 ? truth[unit] : int(4)
                    duration = 300 + int(700)
                case .colluding:
                    category = ringChoice
                case .lengthScripted:
                    category = facts.lengthA >= facts.lengthB ? 0 : 1
                case .triggerTargeted:
                    if facts.tokens.contains(Self.trigger) {
                        category = truth[unit] == 0 ? 1 : 0
                    } else {
                        category = uniform() < 0.08 ? int(4) : truth[unit]
                    }
                }
                judgements.append(RatedJudgement(unit: unit, rater: rater, category: category, shownSwapped: swapped, durationMilliseconds: duration))
            }
        }
    }
}
