/// Kendall's coefficient of concordance W for rankings: how far m raters agree on
/// the order of the same n items (1: all give the same order; 0: no agreement).
/// With ties (average ranks), the standard correction:
///
///     W = 12·S / (m²·(n³ − n) − m·Σ_raters Σ_tie-groups (t³ − t)),
///     S = Σ_items (R_i − R̄)²,  R_i the item's rank sum.
///
/// Equal to Friedman's tie-corrected χ² divided by m·(n − 1) (what the tests
/// check against `scipy.stats.friedmanchisquare`).
public enum KendallW {
    /// W for one task: `rankings[r][i]` is rater r's rank of item i (1 = best; tied
    /// items share the average of their ranks). nil with fewer than 2 raters or 2
    /// items, or when every rater ties everything (no variance to agree on).
    public static func coefficient(_ rankings: [[Double]]) -> Double? {
        let m = rankings.count
        guard m >= 2, let n = rankings.first?.count, n >= 2, rankings.allSatisfy({ $0.count == n }) else { return nil }
        var sums = [Double](repeating: 0, count: n)
        var ties = 0.0
        for ranking in rankings {
            for (item, rank) in ranking.enumerated() { sums[item] += rank }
            // Tie groups: runs of equal ranks.
            var counts: [Double: Int] = [:]
            for rank in ranking { counts[rank, default: 0] += 1 }
            for t in counts.values where t > 1 { ties += Double(t * t * t - t) }
        }
        let mean = sums.reduce(0, +) / Double(n)
        let s = sums.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        let denominator = Double(m * m) * Double(n * n * n - n) - Double(m) * ties
        guard denominator > 0 else { return nil }
        return 12 * s / denominator
    }

    /// Average ranks from scores (higher is better), ties sharing the average: the
    /// form ``coefficient(_:)`` reads, from an order or a rating.
    public static func ranks(scores: [Double]) -> [Double] {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var ranks = [Double](repeating: 0, count: scores.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && scores[order[end + 1]] == scores[order[start]] { end += 1 }
            let average = Double(start + end) / 2 + 1
            for position in start...end { ranks[order[position]] = average }
            start = end + 1
        }
        return ranks
    }

    /// The mean of each task's W over the tasks with at least 2 rankings (and a
    /// defined W), and how many tasks that is.
    public static func mean(_ tasks: [[[Double]]]) -> (value: Double, tasks: Int)? {
        let values = tasks.compactMap { $0.count >= 2 ? coefficient($0) : nil }
        guard !values.isEmpty else { return nil }
        return (values.reduce(0, +) / Double(values.count), values.count)
    }
}
