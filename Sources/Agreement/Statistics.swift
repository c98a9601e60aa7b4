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

    /// The median of a non-empty array.
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
