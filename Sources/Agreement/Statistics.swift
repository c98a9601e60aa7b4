import Glibc

/// Exact tail probabilities and multiple-testing control for the rater signals.
public enum Statistics {
    /// log C(n, k).
    static func logChoose(_ n: Int, _ k: Int) -> Double {
        lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1))
    }

    /// P(X ≥ k) for X ~ Binomial(n, p), summed exactly in log space.
    public static func binomialUpper(_ k: Int, _ n: Int, _ p: Double) -> Double {
        guard k > 0 else { return 1 }
        guard k <= n else { return 0 }
        if p <= 0 { return 0 }
        if p >= 1 { return 1 }
        let lp = log(p)
        let lq = log1p(-p)
        var total = 0.0
        for i in k...n { total += exp(logChoose(n, i) + Double(i) * lp + Double(n - i) * lq) }
        return min(1, total)
    }

    /// P(X ≤ k) for X ~ Binomial(n, p).
    public static func binomialLower(_ k: Int, _ n: Int, _ p: Double) -> Double {
        guard k < n else { return 1 }
        guard k >= 0 else { return 0 }
        return min(1, 1 - binomialUpper(k + 1, n, p))
    }

    /// One-sided Fisher exact test for a 2×2 table [[a, b], [c, d]]: P of a table
    /// with at least `a` in the top-left cell, margins fixed (hypergeometric).
    public static func fisherUpper(a: Int, b: Int, c: Int, d: Int) -> Double {
        let row1 = a + b
        let col1 = a + c
        let n = a + b + c + d
        let maxA = min(row1, col1)
        guard a <= maxA else { return 0 }
        var total = 0.0
        for x in a...maxA where col1 - x <= n - row1 {
            total += exp(logChoose(row1, x) + logChoose(n - row1, col1 - x) - logChoose(n, col1))
        }
        return min(1, total)
    }

    /// P(X > x) for X ~ χ² with an even number of degrees of freedom 2n:
    /// e^{-x/2} Σ_{i<n} (x/2)^i / i!, summed in log space.
    public static func chiSquareSurvival(_ x: Double, degreesOfFreedom: Int) -> Double {
        guard x > 0 else { return 1 }
        let n = degreesOfFreedom / 2
        guard n >= 1 else { return 1 }
        let half = x / 2
        let logHalf = log(half)
        var terms: [Double] = []
        terms.reserveCapacity(n)
        for i in 0..<n { terms.append(Double(i) * logHalf - lgamma(Double(i + 1))) }
        let top = terms.max()!
        let sum = terms.reduce(0) { $0 + exp($1 - top) }
        return min(1, exp(-half + top + log(sum)))
    }

    /// Benjamini–Hochberg adjusted p-values (same order as the input).
    public static func benjaminiHochberg(_ pValues: [Double]) -> [Double] {
        let m = pValues.count
        guard m > 0 else { return [] }
        let order = pValues.indices.sorted { pValues[$0] < pValues[$1] }
        var adjusted = Array(repeating: 1.0, count: m)
        var running = 1.0
        for rank in stride(from: m - 1, through: 0, by: -1) {
            let index = order[rank]
            running = min(running, pValues[index] * Double(m) / Double(rank + 1))
            adjusted[index] = min(1, running)
        }
        return adjusted
    }

    /// The regularized incomplete beta function I_x(a, b): P(X ≤ x) for
    /// X ~ Beta(a, b), by the continued fraction of Numerical Recipes §6.4 (Lentz),
    /// with the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where it converges faster.
    public static func betaCDF(_ x: Double, _ a: Double, _ b: Double) -> Double {
        guard x > 0 else { return 0 }
        guard x < 1 else { return 1 }
        let front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x))
        if x < (a + 1) / (a + b + 2) { return front * betaFraction(x, a, b) / a }
        return 1 - front * betaFraction(1 - x, b, a) / b
    }

    /// The continued fraction behind ``betaCDF(_:_:_:)``.
    static func betaFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...300 {
            let m = Double(m)
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + even * d
            if abs(d) < tiny { d = tiny }
            c = 1 + even / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + odd * d
            if abs(d) < tiny { d = tiny }
            c = 1 + odd / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            h *= step
            if abs(step - 1) < 1e-14 { break }
        }
        return h
    }

    /// The `q`-quantile of `values` weighted by `weights` (the smallest value whose
    /// cumulative weight reaches `q` of the total); NaN when empty.
    public static func weightedQuantile(_ values: [Double], weights: [Double], _ q: Double) -> Double {
        let sorted = zip(values, weights).sorted { $0.0 < $1.0 }
        let total = weights.reduce(0, +)
        guard total > 0 else { return .nan }
        var running = 0.0
        for (value, weight) in sorted {
            running += weight
            if running >= q * total { return value }
        }
        return sorted.last?.0 ?? .nan
    }

    /// The median of a non-empty array.
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
