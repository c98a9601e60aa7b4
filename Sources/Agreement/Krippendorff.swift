/// Krippendorff's alpha for any number of raters, with missing values, at the
/// nominal, ordinal and interval levels.
///
/// Follows Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability":
/// > 1. Build the coincidence matrix o_ck = Σ_u (number of c–k pairs in u) / (m_u − 1),
/// >    over units with m_u ≥ 2 values.
/// > 2. n_c = Σ_k o_ck, n = Σ_c n_c.
/// > 3. α = 1 − D_o / D_e = 1 − (n − 1) Σ o_ck δ²_ck / Σ n_c n_k δ²_ck.
///
/// ```swift
/// let alpha = Krippendorff.alpha(units: [[1, 1, 2], [2, 2], [3, 3, 3]], level: .interval)
/// ```
public enum Krippendorff {
    /// The level of measurement, which sets the difference function δ².
    public enum Level: String, Sendable, CaseIterable {
        case nominal, ordinal, interval
    }

    /// The coincidence matrix of a set of units over a fixed, sorted value domain.
    public struct Coincidences: Sendable, Equatable {
        /// The distinct values, ascending.
        public let values: [Double]
        /// o_ck, row-major `values.count × values.count`.
        public var matrix: [Double]

        public init(values: [Double]) {
            self.values = values
            self.matrix = Array(repeating: 0, count: values.count * values.count)
        }

        /// Adds one unit given as counts per value index (its m_u is their sum).
        public mutating func add(counts: [Int], weight: Double = 1) {
            let m = counts.reduce(0, +)
            guard m >= 2 else { return }
            let scale = weight / Double(m - 1)
            let k = values.count
            for c in 0..<k where counts[c] > 0 {
                for d in 0..<k where counts[d] > 0 {
                    let pairs = c == d ? counts[c] * (counts[c] - 1) : counts[c] * counts[d]
                    matrix[c * k + d] += Double(pairs) * scale
                }
            }
        }

        public static func + (lhs: Coincidences, rhs: Coincidences) -> Coincidences {
            var sum = lhs
            for index in sum.matrix.indices { sum.matrix[index] += rhs.matrix[index] }
            return sum
        }
    }

    /// Alpha from per-unit values (missing values simply absent). Nil when undefined
    /// (fewer than two pairable values, or no variation at all: D_e = 0).
    public static func alpha(units: [[Double]], level: Level) -> Double? {
        let domain = Array(Set(units.joined())).sorted()
        var coincidences = Coincidences(values: domain)
        let index = Dictionary(uniqueKeysWithValues: domain.enumerated().map { ($1, $0) })
        for unit in units where unit.count >= 2 {
            var counts = Array(repeating: 0, count: domain.count)
            for value in unit { counts[index[value]!] += 1 }
            coincidences.add(counts: counts)
        }
        return alpha(coincidences, level: level)
    }

    /// Alpha from reliability data: `data[rater][unit]`, nil where missing.
    public static func alpha(reliabilityData data: [[Double?]], level: Level) -> Double? {
        let unitCount = data.map(\.count).max() ?? 0
        let units = (0..<unitCount).map { unit in data.compactMap { unit < $0.count ? $0[unit] : nil } }
        return alpha(units: units, level: level)
    }

    /// Alpha from a coincidence matrix.
    public static func alpha(_ coincidences: Coincidences, level: Level) -> Double? {
        let k = coincidences.values.count
        let o = coincidences.matrix
        var marginals = Array(repeating: 0.0, count: k)
        for c in 0..<k { for d in 0..<k { marginals[c] += o[c * k + d] } }
        let n = marginals.reduce(0, +)
        guard n > 1 else { return nil }
        let delta = differences(values: coincidences.values, marginals: marginals, level: level)
        var observed = 0.0
        var expected = 0.0
        for c in 0..<k {
            for d in 0..<k where c != d {
                let weight = delta[c * k + d]
                observed += o[c * k + d] * weight
                expected += marginals[c] * marginals[d] * weight
            }
        }
        guard expected > 0 else { return nil }
        return 1 - (n - 1) * observed / expected
    }

    /// δ²_ck for every pair of value indices.
    static func differences(values: [Double], marginals: [Double], level: Level) -> [Double] {
        let k = values.count
        var delta = Array(repeating: 0.0, count: k * k)
        for c in 0..<k {
            for d in 0..<k where c != d {
                switch level {
                case .nominal:
                    delta[c * k + d] = 1
                case .interval:
                    let difference = values[c] - values[d]
                    delta[c * k + d] = difference * difference
                case .ordinal:
                    // > δ²_ck = (Σ_{g=c}^{k} n_g − (n_c + n_k)/2)² over the ordered values.
                    let low = min(c, d)
                    let high = max(c, d)
                    var sum = 0.0
                    for g in low...high { sum += marginals[g] }
                    let value = sum - (marginals[c] + marginals[d]) / 2
                    delta[c * k + d] = value * value
                }
            }
        }
        return delta
    }
}
