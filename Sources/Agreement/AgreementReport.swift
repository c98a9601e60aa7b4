/// One judgement as the statistics see it.
public struct Judgement: Sendable, Equatable {
    /// The unit (pair), 0-based.
    public var unit: Int
    /// The rater, 0-based.
    public var rater: Int
    /// Nominal category: 0 = A, 1 = B, 2 = tie, 3 = both_bad.
    public var category: Int
    /// Signed preference: A with strength s → −s, B → +s, tie → 0, both_bad → nil.
    public var signed: Int?

    public init(unit: Int, rater: Int, category: Int, signed: Int?) {
        self.unit = unit
        self.rater = rater
        self.category = category
        self.signed = signed
    }
}

/// Every agreement number of a project (DESIGN.md / the agreement contract).
public struct AgreementReport: Sendable {
    public var units: Int
    public var judgements: Int
    public var raters: Int
    /// α by level; nil where undefined.
    public var alpha: [Krippendorff.Level: Double?]
    /// 95% percentile bootstrap intervals for α by level.
    public var alphaCI95: [Krippendorff.Level: (low: Double, high: Double)?]
    public var fleiss: (value: Double?, pairs: Int, ratersPerPair: Int)
    /// Mean share of agreeing ordered rater pairs over units with ≥ 2 judgements.
    public var percentAgreement: Double?
    /// Cohen's κ for every two raters with ≥ `minimumShared` shared units.
    public var cohen: [(a: Int, b: Int, shared: Int, kappa: Double?)]
    /// Units by disagreement (entropy, bits), most contested first.
    public var contested: [(unit: Int, entropy: Double, judgements: Int)]

    public static let categories = 4
    public static let minimumShared = 10

    /// Computes the report. `bootstrap` resamples of units, seeded.
    /// `settled` units (a reviewer gave them a final label) are never listed as contested.
    public static func compute(
        _ judgements: [Judgement], bootstrap: Int = 1000, seed: UInt64 = 42, contestedLimit: Int = 20,
        settled: Set<Int> = []
    ) -> AgreementReport {
        let unitCount = (judgements.map(\.unit).max() ?? -1) + 1
        var byUnit = Array(repeating: [Judgement](), count: unitCount)
        for judgement in judgements { byUnit[judgement.unit].append(judgement) }
        byUnit = byUnit.filter { !$0.isEmpty }
        let raters = Set(judgements.map(\.rater)).count

        // Per-unit count vectors over the two domains.
        let signedDomain = Array(Set(judgements.compactMap(\.signed))).sorted()
        let signedIndex = Dictionary(uniqueKeysWithValues: signedDomain.enumerated().map { ($1, $0) })
        var nominalPatterns = PatternTable(width: categories)
        var signedPatterns = PatternTable(width: signedDomain.count)
        var unitPatterns: [(nominal: Int, signed: Int)] = []
        unitPatterns.reserveCapacity(byUnit.count)
        for unit in byUnit {
            var nominal = Array(repeating: 0, count: categories)
            var signed = Array(repeating: 0, count: signedDomain.count)
            for judgement in unit {
                nominal[judgement.category] += 1
                if let value = judgement.signed { signed[signedIndex[value]!] += 1 }
            }
            unitPatterns.append((nominalPatterns.id(of: nominal), signedPatterns.id(of: signed)))
        }
        let nominalValues = (0..<categories).map(Double.init)
        let signedValues = signedDomain.map(Double.init)
        func alphas(nominalWeights: [Double], signedWeights: [Double]) -> [Krippendorff.Level: Double?] {
            let nominal = nominalPatterns.coincidences(values: nominalValues, weights: nominalWeights)
            let signed = signedPatterns.coincidences(values: signedValues, weights: signedWeights)
            return [
                .nominal: Krippendorff.alpha(nominal, level: .nominal),
                .ordinal: Krippendorff.alpha(signed, level: .ordinal),
                .interval: Krippendorff.alpha(signed, level: .interval),
            ]
        }
        let alpha = alphas(
            nominalWeights: nominalPatterns.counts(of: unitPatterns.map(\.nominal)),
            signedWeights: signedPatterns.counts(of: unitPatterns.map(\.signed)))

        // Bootstrap: resample units with replacement. A resample is a count per
        // pattern; its coincidence matrix is the weighted sum of the patterns'
        // matrices, computed once.
        var samples: [Krippendorff.Level: [Double]] = [.nominal: [], .ordinal: [], .interval: []]
        if !unitPatterns.isEmpty && bootstrap > 0 {
            let nominalMatrices = nominalPatterns.matrices(values: nominalValues)
            let signedMatrices = signedPatterns.matrices(values: signedValues)
            let nominalIDs = unitPatterns.map { Int32($0.nominal) }
            let signedIDs = unitPatterns.map { Int32($0.signed) }
            var random = Xoshiro(seed: seed)
            var nominalWeights = Array(repeating: 0.0, count: nominalPatterns.count)
            var signedWeights = Array(repeating: 0.0, count: signedPatterns.count)
            let n = UInt64(unitPatterns.count)
            for _ in 0..<bootstrap {
                nominalWeights.withUnsafeMutableBufferPointer { nominal in
                    signedWeights.withUnsafeMutableBufferPointer { signed in
                        nominalIDs.withUnsafeBufferPointer { nominalID in
                            signedIDs.withUnsafeBufferPointer { signedID in
                                for index in nominal.indices { nominal[index] = 0 }
                                for index in signed.indices { signed[index] = 0 }
                                for _ in 0..<nominalID.count {
                                    let pick = Int(random.next(below: n))
                                    nominal[Int(nominalID[pick])] += 1
                                    signed[Int(signedID[pick])] += 1
                                }
                            }
                        }
                    }
                }
                let nominal = PatternTable.weightedSum(nominalMatrices, weights: nominalWeights, values: nominalValues)
                let signed = PatternTable.weightedSum(signedMatrices, weights: signedWeights, values: signedValues)
                if let value = Krippendorff.alpha(nominal, level: .nominal) { samples[.nominal]?.append(value) }
                if let value = Krippendorff.alpha(signed, level: .ordinal) { samples[.ordinal]?.append(value) }
                if let value = Krippendorff.alpha(signed, level: .interval) { samples[.interval]?.append(value) }
            }
        }
        var ci: [Krippendorff.Level: (low: Double, high: Double)?] = [:]
        for level in Krippendorff.Level.allCases {
            let sorted = (samples[level] ?? []).sorted()
            ci[level] = sorted.count >= 20 ? (percentile(sorted, 0.025), percentile(sorted, 0.975)) : nil
        }

        // Fleiss over the units with the most common number of judgements (ties → larger).
        var sizeCounts: [Int: Int] = [:]
        for unit in byUnit where unit.count >= 2 { sizeCounts[unit.count, default: 0] += 1 }
        let commonSize = sizeCounts.max { ($0.value, $0.key) < ($1.value, $1.key) }?.key ?? 0
        let fleissRows = byUnit.filter { $0.count == commonSize }.map { unit -> [Int] in
            var row = Array(repeating: 0, count: categories)
            for judgement in unit { row[judgement.category] += 1 }
            return row
        }
        let fleiss = (Fleiss.kappa(counts: fleissRows), fleissRows.count, commonSize)

        let agreements = byUnit.compactMap { Disagreement.pairwiseAgreement($0.map(\.category)) }
        let percent = agreements.isEmpty ? nil : agreements.reduce(0, +) / Double(agreements.count)

        // Cohen's κ for rater pairs with enough shared units: one packed word per
        // (rater pair, unit) — pair key and both labels — sorted, then read run by run.
        var words: [UInt64] = []
        words.reserveCapacity(byUnit.reduce(0) { $0 + $1.count * ($1.count - 1) / 2 })
        for unit in byUnit where unit.count >= 2 {
            for i in 0..<unit.count {
                for j in (i + 1)..<unit.count {
                    let (x, y) = unit[i].rater < unit[j].rater ? (unit[i], unit[j]) : (unit[j], unit[i])
                    words.append(UInt64(x.rater) << 34 | UInt64(y.rater) << 4 | UInt64(x.category) << 2 | UInt64(y.category))
                }
            }
        }
        words.sort()
        var cohen: [(a: Int, b: Int, shared: Int, kappa: Double?)] = []
        var start = 0
        while start < words.count {
            let pair = words[start] >> 4
            var end = start
            while end < words.count && words[end] >> 4 == pair { end += 1 }
            if end - start >= minimumShared {
                var confusion = [Int](repeating: 0, count: 16)
                for index in start..<end { confusion[Int(words[index] & 0xF)] += 1 }
                cohen.append(
                    (
                        a: Int(pair >> 30), b: Int(pair & 0x3FFF_FFFF), shared: end - start,
                        kappa: Cohen.kappa(confusion: confusion, categories: 4)
                    ))
            }
            start = end
        }

        let contested = byUnit.filter { $0.count >= 2 && !settled.contains($0[0].unit) }
            .map { (unit: $0[0].unit, entropy: Disagreement.entropy($0.map(\.category)), judgements: $0.count) }
            .sorted { ($0.entropy, $0.judgements, -$0.unit) > ($1.entropy, $1.judgements, -$1.unit) }
            .prefix(contestedLimit)

        return AgreementReport(
            units: byUnit.count, judgements: judgements.count, raters: raters, alpha: alpha, alphaCI95: ci,
            fleiss: fleiss, percentAgreement: percent, cohen: cohen, contested: Array(contested))
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        // Linear interpolation between order statistics (numpy's default).
        let position = p * Double(sorted.count - 1)
        let low = Int(position)
        let high = min(low + 1, sorted.count - 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
    }
}

/// Distinct per-unit count vectors, each with its coincidence contribution, so a
/// bootstrap resample costs a count per pattern instead of a pass over units.
struct PatternTable {
    let width: Int
    private var ids: [[Int]: Int] = [:]
    private(set) var patterns: [[Int]] = []

    init(width: Int) { self.width = width }

    var count: Int { patterns.count }

    mutating func id(of counts: [Int]) -> Int {
        if let id = ids[counts] { return id }
        ids[counts] = patterns.count
        patterns.append(counts)
        return patterns.count - 1
    }

    func counts(of ids: [Int]) -> [Double] {
        var weights = Array(repeating: 0.0, count: patterns.count)
        for id in ids { weights[id] += 1 }
        return weights
    }

    /// Every pattern's coincidence contribution, `count × values²`, row-major.
    func matrices(values: [Double]) -> [Double] {
        let size = values.count * values.count
        var all = [Double](repeating: 0, count: patterns.count * size)
        for (index, pattern) in patterns.enumerated() {
            var one = Krippendorff.Coincidences(values: values)
            one.add(counts: pattern)
            for entry in 0..<size { all[index * size + entry] = one.matrix[entry] }
        }
        return all
    }

    /// Σ weight_p × matrix_p.
    static func weightedSum(_ matrices: [Double], weights: [Double], values: [Double]) -> Krippendorff.Coincidences {
        var result = Krippendorff.Coincidences(values: values)
        let size = values.count * values.count
        guard size > 0 else { return result }
        result.matrix.withUnsafeMutableBufferPointer { sum in
            matrices.withUnsafeBufferPointer { all in
                for (pattern, weight) in weights.enumerated() where weight > 0 {
                    let base = pattern * size
                    for entry in 0..<size { sum[entry] += weight * all[base + entry] }
                }
            }
        }
        return result
    }

    func coincidences(values: [Double], weights: [Double]) -> Krippendorff.Coincidences {
        var result = Krippendorff.Coincidences(values: values)
        for (index, pattern) in patterns.enumerated() where weights[index] > 0 {
            result.add(counts: pattern, weight: weights[index])
        }
        return result
    }
}

/// xoshiro256** (Blackman & Vigna), seeded through SplitMix64: fast and reproducible.
struct Xoshiro {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in 0..<bound (Lemire's multiply-shift; bias < 2^-32 for our sizes).
    mutating func next(below bound: UInt64) -> UInt64 {
        ((next() >> 32) &* bound) >> 32
    }
}
