import Glibc

/// Fleiss' kappa (Fleiss 1971) for a fixed number of raters per subject.
public enum Fleiss {
    /// κ from per-subject category counts: `counts[subject][category]`, every row
    /// summing to the same number of raters n ≥ 2. Nil when undefined (P_e = 1,
    /// or rows of unequal size).
    ///
    /// > P_i = (Σ_j n_ij² − n) / (n(n − 1)); P̄ = mean P_i; p_j = Σ_i n_ij / (N n);
    /// > P̄_e = Σ_j p_j²; κ = (P̄ − P̄_e) / (1 − P̄_e).
    public static func kappa(counts: [[Int]]) -> Double? {
        guard let first = counts.first else { return nil }
        let n = first.reduce(0, +)
        guard n >= 2, counts.allSatisfy({ $0.reduce(0, +) == n && $0.count == first.count }) else { return nil }
        let subjects = Double(counts.count)
        var pBar = 0.0
        var totals = Array(repeating: 0.0, count: first.count)
        for row in counts {
            var squares = 0
            for (j, value) in row.enumerated() {
                squares += value * value
                totals[j] += Double(value)
            }
            pBar += Double(squares - n) / Double(n * (n - 1))
        }
        pBar /= subjects
        let pE = totals.reduce(0) { sum, total in
            let p = total / (subjects * Double(n))
            return sum + p * p
        }
        guard pE < 1 else { return nil }
        return (pBar - pE) / (1 - pE)
    }
}

/// Cohen's kappa for two raters on the same items (unweighted, nominal).
public enum Cohen {
    /// κ from paired labels (category indices). Nil when undefined (p_e = 1).
    ///
    /// > p_o = share of agreements; p_e = Σ_k p_a(k) p_b(k); κ = (p_o − p_e) / (1 − p_e).
    public static func kappa(_ a: [Int], _ b: [Int]) -> Double? {
        guard a.count == b.count, !a.isEmpty else { return nil }
        let count = Double(a.count)
        var agree = 0.0
        var marginA: [Int: Double] = [:]
        var marginB: [Int: Double] = [:]
        for (x, y) in zip(a, b) {
            if x == y { agree += 1 }
            marginA[x, default: 0] += 1
            marginB[y, default: 0] += 1
        }
        let po = agree / count
        var pe = 0.0
        for (category, countA) in marginA { pe += countA / count * (marginB[category] ?? 0) / count }
        guard pe < 1 else { return nil }
        return (po - pe) / (1 - pe)
    }
}

extension Cohen {
    /// κ from a confusion matrix `confusion[a * categories + b]` (counts).
    public static func kappa(confusion: [Int], categories: Int) -> Double? {
        let total = Double(confusion.reduce(0, +))
        guard total > 0 else { return nil }
        var agree = 0.0
        var rows = Array(repeating: 0.0, count: categories)
        var columns = Array(repeating: 0.0, count: categories)
        for a in 0..<categories {
            for b in 0..<categories {
                let count = Double(confusion[a * categories + b])
                if a == b { agree += count }
                rows[a] += count
                columns[b] += count
            }
        }
        let po = agree / total
        var pe = 0.0
        for k in 0..<categories { pe += rows[k] / total * columns[k] / total }
        guard pe < 1 else { return nil }
        return (po - pe) / (1 - pe)
    }
}

/// Simple per-item measures.
public enum Disagreement {
    /// Share of agreeing ordered rater pairs among a unit's labels (nil below 2).
    public static func pairwiseAgreement(_ labels: [Int]) -> Double? {
        let m = labels.count
        guard m >= 2 else { return nil }
        var counts: [Int: Int] = [:]
        for label in labels { counts[label, default: 0] += 1 }
        let agreeing = counts.values.reduce(0) { $0 + $1 * ($1 - 1) }
        return Double(agreeing) / Double(m * (m - 1))
    }

    /// Shannon entropy (bits) of a unit's label distribution: 0 when unanimous.
    public static func entropy(_ labels: [Int]) -> Double {
        guard !labels.isEmpty else { return 0 }
        var counts: [Int: Int] = [:]
        for label in labels { counts[label, default: 0] += 1 }
        let total = Double(labels.count)
        var entropy = 0.0
        for count in counts.values {
            let p = Double(count) / total
            entropy -= p * log2(p)
        }
        return entropy
    }
}
