import Glibc

/// Seeded crowds with a known truth and known attackers, for the rater-quality
/// tests and benchmarks. Three families, the last two written apart from the
/// detector's assumptions (its crowd model has one sharpness per rater and no item
/// difficulty; these crowds do not):
///
/// - ``Family/classic``: honest raters with 5–30% uniform noise, ~60 judgements
///   each, 5 per pair, three of each attacker kind and a ring of four;
/// - ``Family/difficulty``: honest accuracy depends on the pair — a third of pairs
///   are hard (50–60% right for everyone, some say tie), the rest easy (85–99%
///   right, by the rater's skill; on average 73–86%) — and judgements per rater
///   follow a long tail (log-normal, median ≈ 20, a few in the hundreds);
/// - ``Family/confusion``: every honest rater has their own confusion matrix
///   (a favourite side when unsure, a taste for "both bad"), 3–7 raters per pair,
///   long-tailed volumes, and combined attacks: a colluding ring (two members at a
///   time land on the same pairs and vote together) that also flips on a trigger
///   word, and content poisoners who favour a target entity.
///
/// Attackers are `attackerShare` of the raters (5–30%), spread over the kinds.
public struct CrowdSimulator: Sendable {
    public enum Family: String, CaseIterable, Sendable { case classic, difficulty, confusion }

    public enum Kind: String, CaseIterable, Sendable {
        case honest, random, positionBiased = "position", labelFlipping = "flipping", tooFast = "fast", colluding,
            lengthScripted = "length", triggerTargeted = "trigger", contentTargeted = "content", ringTrigger = "ring_trigger"

        /// Untargeted attackers (the ones a rater's overall choices give away).
        public var isTargeted: Bool { self == .triggerTargeted || self == .contentTargeted }
    }

    public var judgements: [RatedJudgement] = []
    public var units: [UnitFacts] = []
    public var kinds: [Kind] = []
    public var truth: [Int] = []
    /// The trigger word's and the target entity's token ids.
    public static let trigger = 7
    public static let entity = 8

    /// `medianVolume`: the median judgements per rater of the long-tailed families.
    public init(family: Family, seed: UInt64, raters: Int = 120, attackerShare: Double = 0.2, medianVolume: Double = 20) {
        var random = Generator(state: seed)
        switch family {
        case .classic: self.init(classic: &random)
        case .difficulty, .confusion:
            self.init(family: family, random: &random, raters: raters, attackerShare: attackerShare, medianVolume: medianVolume)
        }
    }

    /// A small seeded generator (SplitMix64).
    public struct Generator: Sendable {
        public var state: UInt64
        public mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
        public mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        public mutating func normal() -> Double {
            let u = max(1e-300, uniform())
            return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * uniform())
        }
    }

    /// A rater's accuracy against the truth on the pairs that have a better side
    /// (a tie or "both bad" on such a pair is wrong).
    public func accuracy(rater: Int) -> Double {
        var right = 0, total = 0
        for judgement in judgements where judgement.rater == rater && !judgement.isRepeat && truth[judgement.unit] < 2 {
            total += 1
            if judgement.category == truth[judgement.unit] { right += 1 }
        }
        return total == 0 ? .nan : Double(right) / Double(total)
    }

    /// How many pairs carrying the rater's target (trigger word in the prompt, or
    /// the entity in exactly one response) the rater judged.
    public func targetedPairs(rater: Int) -> Int {
        let content = kinds[rater] == .contentTargeted
        return judgements.filter { judgement in
            guard judgement.rater == rater, !judgement.isRepeat else { return false }
            let facts = units[judgement.unit]
            return content
                ? facts.tokensOnlyA.contains(Self.entity) || facts.tokensOnlyB.contains(Self.entity) : facts.tokens.contains(Self.trigger)
        }.count
    }

    // MARK: classic

    init(classic random: inout Generator, honest: Int = 60, perAttackKind: Int = 3, judgementsPerRater: Int = 60, judgesPerPair: Int = 5) {
        kinds = Array(repeating: .honest, count: honest)
        for kind in [Kind.random, .positionBiased, .labelFlipping, .tooFast, .colluding, .lengthScripted, .triggerTargeted] {
            kinds += Array(repeating: kind, count: kind == .colluding ? 4 : perAttackKind)
        }
        let raters = kinds.count
        let noise = (0..<raters).map { _ in 0.05 + 0.25 * random.uniform() }
        let unitCount = raters * judgementsPerRater / judgesPerPair
        for _ in 0..<unitCount {
            let lengthA = 100 + random.int(1900)
            let lengthB = 100 + random.int(1900)
            var tokens = Set((0..<8).map { _ in 10 + random.int(490) })
            if random.uniform() < 0.08 { tokens.insert(Self.trigger) }
            units.append(UnitFacts(lengthA: lengthA, lengthB: lengthB, tokens: tokens.sorted()))
            truth.append(random.uniform() < 0.9 ? random.int(2) : 2)
        }
        let ring = kinds.indices.filter { kinds[$0] == .colluding }
        var load = Array(repeating: 0, count: raters)
        for unit in 0..<unitCount {
            var judges = Set<Int>()
            if unit % 9 == 0 && ring.count == 4 {
                let resting = (unit / 9) % 4
                for (position, member) in ring.enumerated() where position != resting { judges.insert(member) }
            }
            while judges.count < judgesPerPair {
                let candidate = (0..<4).map { _ in random.int(raters) }.min { load[$0] < load[$1] }!
                judges.insert(candidate)
            }
            let ringChoice = random.int(4)
            for rater in judges.sorted() {
                load[rater] += 1
                let swapped = random.uniform() < 0.5
                let facts = units[unit]
                var duration = 1000 + 2 * (facts.lengthA + facts.lengthB) + random.int(20_000)
                let category: Int
                switch kinds[rater] {
                case .honest: category = random.uniform() < noise[rater] ? random.int(4) : truth[unit]
                case .tooFast:
                    category = random.uniform() < 0.5 ? truth[unit] : random.int(4)
                    duration = 300 + random.int(700)
                case .colluding: category = ringChoice
                default:
                    category = Self.attack(kinds[rater], truth: truth[unit], facts: facts, swapped: swapped, random: &random) ?? truth[unit]
                }
                judgements.append(
                    RatedJudgement(unit: unit, rater: rater, category: category, shownSwapped: swapped, durationMilliseconds: duration))
            }
        }
    }

    /// What an attacker picks (nil: behaves honestly with little noise here).
    static func attack(_ kind: Kind, truth: Int, facts: UnitFacts, swapped: Bool, random: inout Generator) -> Int? {
        switch kind {
        case .random: return random.int(4)
        case .positionBiased: return swapped ? 1 : 0
        case .labelFlipping: return truth == 0 ? 1 : truth == 1 ? 0 : random.int(2)
        case .lengthScripted: return facts.lengthA >= facts.lengthB ? 0 : 1
        case .triggerTargeted, .ringTrigger:
            if facts.tokens.contains(trigger) { return truth == 0 ? 1 : 0 }
            return random.uniform() < 0.08 ? random.int(4) : nil
        case .contentTargeted:
            if facts.tokensOnlyA.contains(entity) { return 0 }
            if facts.tokensOnlyB.contains(entity) { return 1 }
            return random.uniform() < 0.08 ? random.int(4) : nil
        default: return nil
        }
    }

    // MARK: difficulty and confusion

    init(family: Family, random: inout Generator, raters: Int, attackerShare: Double, medianVolume: Double) {
        let attackers = max(1, Int((Double(raters) * attackerShare).rounded()))
        let attackKinds: [Kind] =
            family == .difficulty
            ? [.random, .labelFlipping, .positionBiased, .lengthScripted, .tooFast, .triggerTargeted, .contentTargeted]
            : [.random, .labelFlipping, .ringTrigger, .contentTargeted, .positionBiased, .triggerTargeted]
        kinds = Array(repeating: .honest, count: raters - attackers)
        for index in 0..<attackers { kinds.append(attackKinds[index % attackKinds.count]) }
        // Long-tailed volumes: log-normal around the median (attackers alike), 5 to 20× the median.
        let volume = kinds.map { _ in min(20 * Int(medianVolume), max(5, Int((medianVolume * exp(1.0 * random.normal())).rounded()))) }
        let judgesPerPair = family == .difficulty ? 5 : 5
        let unitCount = max(50, volume.reduce(0, +) / judgesPerPair)
        // Honest raters: skill (difficulty) or a confusion matrix (confusion).
        let skill = kinds.map { _ in 0.6 + 0.4 * random.uniform() }
        let favourite = kinds.map { _ in random.int(2) }
        let sideBias = kinds.map { _ in 0.5 + 0.4 * random.uniform() }  // P(favourite side) when unsure
        let bothBadTaste = kinds.map { _ in 0.1 * random.uniform() }
        var easiness: [Double] = []
        for _ in 0..<unitCount {
            let lengthA = 100 + random.int(1900)
            let lengthB = 100 + random.int(1900)
            var tokens = Set((0..<8).map { _ in 10 + random.int(490) })
            if random.uniform() < 0.08 { tokens.insert(Self.trigger) }
            var onlyA = Set((0..<6).map { _ in 600 + random.int(2000) })
            var onlyB = Set((0..<6).map { _ in 600 + random.int(2000) })
            if random.uniform() < 0.1 {
                if random.uniform() < 0.5 { onlyA.insert(Self.entity) } else { onlyB.insert(Self.entity) }
            }
            units.append(
                UnitFacts(
                    lengthA: lengthA, lengthB: lengthB, tokens: tokens.sorted(), tokensOnlyA: onlyA.sorted(), tokensOnlyB: onlyB.sorted()))
            truth.append(random.uniform() < 0.95 ? random.int(2) : 2)
            // A third of pairs hard (easiness 0–0.2), the rest easy (0.7–1).
            easiness.append(random.uniform() < 1.0 / 3 ? 0.2 * random.uniform() : 0.7 + 0.3 * random.uniform())
        }
        // Assignment: each rater judges `volume` distinct pairs, filling pairs that
        // have the fewest judges first (as the server's queue does).
        var judgesOf = Array(repeating: [Int](), count: unitCount)
        var open = Array(0..<unitCount)
        let ring = kinds.indices.filter { kinds[$0] == .ringTrigger }
        // The ring lands two members at a time on the same pairs (half of each
        // member's volume; they time their requests), and coordinates there.
        var ringUnits = Set<Int>()
        var ringVolume = Array(repeating: 0, count: kinds.count)
        if ring.count >= 2 {
            let memberPairs = ring.indices.flatMap { i in ring.indices.filter { $0 > i }.map { (ring[i], ring[$0]) } }
            let shared = min(unitCount / 4, ring.map { volume[$0] }.reduce(0, +) / 4)
            while ringUnits.count < shared {
                let unit = random.int(unitCount)
                guard !ringUnits.contains(unit) else { continue }
                let (a, b) = memberPairs[ringUnits.count % memberPairs.count]
                ringUnits.insert(unit)
                judgesOf[unit] += [a, b]
                ringVolume[a] += 1
                ringVolume[b] += 1
            }
        }
        for rater in kinds.indices {
            var mine = Set(ring.contains(rater) ? judgesOf.indices.filter { judgesOf[$0].contains(rater) } : [])
            let target = min(volume[rater] + ringVolume[rater] / 2, unitCount)
            var attempts = 0
            while mine.count < target && attempts < target * 50 {
                attempts += 1
                let candidates = (0..<3).map { _ in open[random.int(open.count)] }
                let unit = candidates.min { judgesOf[$0].count < judgesOf[$1].count }!
                let limit = family == .confusion ? 3 + unit % 5 : judgesPerPair
                if mine.contains(unit) || judgesOf[unit].count >= limit + 2 { continue }
                mine.insert(unit)
                judgesOf[unit].append(rater)
            }
            if open.count > 1 && random.uniform() < 0.01 { open.shuffle(using: &random) }
        }
        for unit in 0..<unitCount {
            let ringChoice = random.int(2)
            for rater in judgesOf[unit] {
                let swapped = random.uniform() < 0.5
                let facts = units[unit]
                var duration = 2000 + 3 * (facts.lengthA + facts.lengthB) + random.int(30_000)
                var category: Int
                switch kinds[rater] {
                case .honest:
                    category = Self.honest(
                        family: family, truth: truth[unit], easiness: easiness[unit], skill: skill[rater],
                        favourite: favourite[rater], sideBias: sideBias[rater], bothBad: bothBadTaste[rater], random: &random)
                case .tooFast:
                    category = random.uniform() < 0.5 ? truth[unit] : random.int(2)
                    duration = 300 + random.int(900)
                case .ringTrigger:
                    // The ring agrees with itself: a shared coin on the pairs it lands
                    // on together, the truth flipped on trigger prompts.
                    if ringUnits.contains(unit) {
                        category = ringChoice
                    } else if facts.tokens.contains(Self.trigger) {
                        category = truth[unit] == 0 ? 1 : 0
                    } else {
                        category = Self.honest(
                            family: family, truth: truth[unit], easiness: easiness[unit], skill: 0.9,
                            favourite: 0, sideBias: 0.5, bothBad: 0.02, random: &random)
                    }
                default:
                    category =
                        Self.attack(kinds[rater], truth: truth[unit], facts: facts, swapped: swapped, random: &random)
                        ?? Self.honest(
                            family: family, truth: truth[unit], easiness: easiness[unit], skill: 0.9,
                            favourite: 0, sideBias: 0.5, bothBad: 0.02, random: &random)
                }
                if kinds[rater] == .random { category = random.uniform() < 0.85 ? random.int(2) : 2 + random.int(2) }
                judgements.append(
                    RatedJudgement(unit: unit, rater: rater, category: category, shownSwapped: swapped, durationMilliseconds: duration))
            }
        }
    }

    /// An honest rater's choice on a pair.
    static func honest(
        family: Family, truth: Int, easiness: Double, skill: Double, favourite: Int, sideBias: Double, bothBad: Double,
        random: inout Generator
    ) -> Int {
        if truth == 2 { return random.uniform() < 0.6 ? 2 : random.int(2) }
        switch family {
        case .confusion:
            // Knows the answer with probability skill × easiness; otherwise guesses
            // with their favourite side, or calls both bad.
            if random.uniform() < bothBad { return 3 }
            if random.uniform() < skill * easiness + (1 - easiness) * 0.0 { return truth }
            return random.uniform() < sideBias ? favourite : 1 - favourite
        default:
            // Hard pairs (easiness < 0.2): right 50–60% of the time, some say tie;
            // easy ones: right 85–99% with skill (skill 0.6–1 maps to 0–1).
            let level = (skill - 0.6) / 0.4
            if easiness < 0.2 {
                if random.uniform() < 0.15 { return 2 }
                return random.uniform() < 0.5 + 0.1 * level ? truth : 1 - truth
            }
            return random.uniform() < 0.85 + 0.14 * level ? truth : 1 - truth
        }
    }
}

extension CrowdSimulator.Generator: RandomNumberGenerator {}
