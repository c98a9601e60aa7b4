/// One rater-quality signal: a one-sided test giving a p-value per rater it can
/// judge, with the numbers behind it and a sentence a reviewer can check.
///
/// Adding a signal is one new type conforming to this protocol, in a file of its
/// own under `Signals/`, plus one line in ``RaterQuality/signals``. It reads the
/// shared ``RaterContext`` — judgements grouped by pair and by rater, and the
/// leave-one-out consensus, computed once for all signals.
///
/// ```swift
/// struct AlwaysTie: RaterSignal {
///     let name = "always_tie"
///     let usesConsensus = false
///     func evaluate(_ context: RaterContext) -> [SignalFinding] {
///         (0..<context.raters).compactMap { rater in
///             let judgements = context.byRater[rater]
///             guard judgements.count >= context.options.minimumJudgements else { return nil }
///             let ties = judgements.filter { context.firsts[$0].category == 2 }.count
///             return SignalFinding(rater: rater, p: Statistics.binomialUpper(ties, judgements.count, 0.5),
///                                  numbers: ["ties": Double(ties)], detail: "chose tie \(ties) times")
///         }
///     }
/// }
/// ```
public protocol RaterSignal: Sendable {
    /// The signal's name in reports and exports (`consensus`, `speed`, …).
    var name: String { get }
    /// Whether it reads the consensus; only those are recomputed in the second
    /// pass, which leaves the first pass's flagged raters out of the yardstick.
    var usesConsensus: Bool { get }
    /// How its p-values are corrected across raters.
    var correction: SignalCorrection { get }
    /// What a flag by this signal says about the rater (default: ``RaterFinding/malicious``).
    var finding: RaterFinding { get }
    /// Whether a flag says only how often the rater is right (at chance,
    /// inverting, below the crowd) — what a Dawid–Skene weight already models,
    /// unlike a pattern (position, speed, length, partners, words). Default: false.
    var aboutAccuracy: Bool { get }
    /// A finding for every rater the signal has enough evidence on.
    func evaluate(_ context: RaterContext) -> [SignalFinding]
}

extension RaterSignal {
    public var correction: SignalCorrection { .benjaminiHochberg }
    public var finding: RaterFinding { .malicious }
    public var aboutAccuracy: Bool { false }
}

/// Why a rater was flagged (`finding` in reports).
public enum RaterFinding: String, Sendable {
    /// Their labels are far enough below the crowd's that counting them lowers
    /// label quality: inconsistent or careless, not an attack.
    case unreliable
    /// Chance, inverting, position or speed patterns, collusion, targeted poisoning.
    case malicious
}

/// How a signal's p-values become the ones compared with the false discovery rate.
public enum SignalCorrection: Sendable {
    /// Benjamini–Hochberg across the raters the signal judged (most signals).
    case benjaminiHochberg
    /// The signal corrects for itself (collusion tests rater *pairs*) and reports
    /// only raters it found; its `p` is already adjusted.
    case selfAdjusted
    /// The signal's `p` is a posterior probability under the fitted crowd model
    /// (``CrowdModel``) that the rater is *not* what the signal looks for — e.g. the
    /// probability of being honest; it flags below the same threshold.
    case posterior
}

/// What a signal says about one rater.
public struct SignalFinding: Sendable {
    public var rater: Int
    /// The one-sided p-value (already adjusted for ``SignalCorrection/selfAdjusted`` signals).
    public var p: Double
    /// The numbers behind it (rates, counts, crowd medians).
    public var numbers: [String: Double]
    /// One sentence a reviewer can check against the judgements.
    public var detail: String

    public init(rater: Int, p: Double, numbers: [String: Double], detail: String) {
        self.rater = rater
        self.p = p
        self.numbers = numbers
        self.detail = detail
    }
}

/// What every signal reads, computed once per pass.
public struct RaterContext: Sendable {
    /// First judgements (not repeats), in input order.
    public let firsts: [RatedJudgement]
    /// Repeats (a pair judged again by the same rater, shown swapped).
    public let repeats: [RatedJudgement]
    public let units: [UnitFacts]
    /// Per unit, its responses' lengths as flat arrays (reading a ``UnitFacts``
    /// copies its token array, which costs more than most signals).
    public let lengthA: [Int]
    public let lengthB: [Int]
    public let raters: Int
    /// Names of prompt tokens, for explanations.
    public let tokenNames: [Int: String]
    public let options: RaterQuality.Options
    /// Raters left out of every yardstick (flagged in the first pass).
    public let excluded: Set<Int>
    /// Indices into ``firsts`` by unit and by rater.
    public let byUnit: [[Int]]
    public let byRater: [[Int]]
    /// Per unit, the categories' counts (A, B, tie, both bad) among raters not excluded.
    public let unitCounts: [[Int]]
    /// Per first judgement, the leave-one-out consensus: the unique majority of the
    /// other raters' categories on its unit (at least 3 judgements on the unit and 2
    /// others), or nil.
    public let consensus: [Int?]
    /// The class-conditional view of which response is better (the others' votes
    /// without `excluded`), behind the `reliability` signal, collusion and the crowd
    /// model's lean.
    public private(set) var reliability: ClassConditionalCrowd!
    /// The crowd model fitted to this pass (the others' votes without `excluded`).
    public private(set) var crowd: CrowdModel!

    init(
        _ judgements: [RatedJudgement], units: [UnitFacts], raters: Int, tokenNames: [Int: String] = [:], options: RaterQuality.Options,
        excluded: Set<Int>
    ) {
        self.tokenNames = tokenNames
        let firsts = judgements.filter { !$0.isRepeat }
        self.firsts = firsts
        repeats = judgements.filter(\.isRepeat)
        self.units = units
        lengthA = units.map(\.lengthA)
        lengthB = units.map(\.lengthB)
        self.raters = raters
        self.options = options
        self.excluded = excluded
        var byUnit = Array(repeating: [Int](), count: units.count)
        var byRater = Array(repeating: [Int](), count: raters)
        for (index, judgement) in firsts.enumerated() {
            byUnit[judgement.unit].append(index)
            byRater[judgement.rater].append(index)
        }
        var unitCounts = Array(repeating: [0, 0, 0, 0], count: units.count)
        for (unit, indices) in byUnit.enumerated() {
            for index in indices where !excluded.contains(firsts[index].rater) { unitCounts[unit][firsts[index].category] += 1 }
        }
        var consensus = Array<Int?>(repeating: nil, count: firsts.count)
        for indices in byUnit where indices.count >= 3 {
            for index in indices {
                let others = Self.others(unitCounts[firsts[index].unit], without: [firsts[index]], excluded: excluded)
                guard others.reduce(0, +) >= 2, let majority = Self.uniqueMajority(others) else { continue }
                consensus[index] = majority
            }
        }
        self.byUnit = byUnit
        self.byRater = byRater
        self.unitCounts = unitCounts
        self.consensus = consensus
        reliability = ClassConditionalCrowd(self)
        crowd = CrowdModel(self)
    }

    /// The counts of the others on a judgement's unit: without its own vote (and
    /// without `also`, for tests of two raters at once).
    public func others(of index: Int, also: Int? = nil) -> [Int] {
        var without = [firsts[index]]
        if let also { without.append(firsts[also]) }
        return Self.others(unitCounts[firsts[index].unit], without: without, excluded: excluded)
    }

    static func others(_ counts: [Int], without: [RatedJudgement], excluded: Set<Int>) -> [Int] {
        var others = counts
        for judgement in without where !excluded.contains(judgement.rater) { others[judgement.category] -= 1 }
        return others
    }

    /// The category with strictly the most votes, or nil (no votes, or a tie for first).
    public static func uniqueMajority(_ counts: [Int]) -> Int? {
        let best = counts.max() ?? 0
        guard best > 0, counts.filter({ $0 == best }).count == 1 else { return nil }
        return counts.firstIndex(of: best)
    }

    /// The crowd's median of `rates` among raters with enough judgements (NaN when none).
    public func crowdMedian(_ counts: [(hits: Int, n: Int)]) -> Double {
        Statistics.median(counts.filter { $0.n >= options.minimumJudgements }.map { Double($0.hits) / Double($0.n) })
    }

    /// A prompt token as explanations show it: `'word'`, or `token #12` when unnamed.
    public func token(_ id: Int) -> String { tokenNames[id].map { "'\($0)'" } ?? "token #\(id)" }

    /// A finding for each rater with at least `minimum` (default: the options')
    /// judgements counted in `counts`, made by `make(rater, hits, n)`.
    public func findings(
        _ counts: [(hits: Int, n: Int)], minimum: Int? = nil, _ make: (_ rater: Int, _ hits: Int, _ n: Int) -> SignalFinding
    ) -> [SignalFinding] {
        let minimum = minimum ?? options.minimumJudgements
        return counts.indices.compactMap { rater in counts[rater].n >= minimum ? make(rater, counts[rater].hits, counts[rater].n) : nil }
    }

    /// `0.57` → `"57%"`.
    public static func percent(_ value: Double) -> String { "\(Int((value * 100).rounded()))%" }
}
