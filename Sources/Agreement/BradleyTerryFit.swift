import Glibc

/// A Bradley–Terry fit over model-versus-model votes, as Chatbot Arena ranks
/// models: unregularised maximum likelihood of P(a beats b) = σ(θ_a − θ_b), ties
/// as half a win each way, on the Elo-like scale 400·log10 odds, anchored so the
/// mean rating is 1000.
///
/// Fitted by Newton's method on the concave log-likelihood with the last model's
/// θ fixed at 0 (the model is identified only up to a shift), then re-centred.
/// Matches scikit-learn's `LogisticRegression(penalty=None, fit_intercept=False)`
/// on Chatbot Arena's design matrix (the tests check it to 1e-6).
public enum BradleyTerryFit {
    /// One battle: model indices, the score of `a` (1 win, 0.5 tie, 0 loss), and
    /// covariates of the battle for style control (e.g. the normalised length
    /// difference of the two responses), the same number in every vote.
    public struct Vote: Sendable, Equatable {
        public var a: Int
        public var b: Int
        public var scoreA: Double
        public var covariates: [Double]
        public init(a: Int, b: Int, scoreA: Double, covariates: [Double] = []) {
            self.a = a
            self.b = b
            self.scoreA = scoreA
            self.covariates = covariates
        }
    }

    /// A fit: θ per model (mean 0) and a coefficient per covariate.
    public struct Result: Sendable, Equatable {
        public var theta: [Double]
        public var coefficients: [Double]
    }

    /// The Elo-like points per natural-log unit of odds (400 / ln 10).
    public static let scale = 400 / 2.302585092994046

    /// θ per model (natural-log strengths, mean 0), or nil when the maximum does
    /// not exist (a model never loses or never wins, or models form groups that
    /// never met) — unregularised, as Chatbot Arena's.
    public static func fit(_ votes: [Vote], models: Int, iterations: Int = 100, tolerance: Double = 1e-10) -> [Double]? {
        fitWithCovariates(votes, models: models, iterations: iterations, tolerance: tolerance)?.theta
    }

    /// The fit with each vote's covariates as further regressors (style control):
    /// logit P(a wins) = θ_a − θ_b + Σ β_k·c_k. Votes without covariates are
    /// first summed per pair of models, so a fit costs O(pairs + models³) per step.
    public static func fitWithCovariates(_ votes: [Vote], models: Int, iterations: Int = 100, tolerance: Double = 1e-10) -> Result? {
        guard models >= 2 else { return models == 1 ? Result(theta: [0], coefficients: []) : nil }
        let covariates = votes.first?.covariates.count ?? 0
        // Rows: (a, b, score sum, count, covariates); without covariates, summed per ordered pair.
        var rows: [(a: Int, b: Int, score: Double, count: Double, c: [Double])] = []
        if covariates == 0 {
            var index: [Int: Int] = [:]
            for vote in votes {
                let key = vote.a * models + vote.b
                if let at = index[key] {
                    rows[at].score += vote.scoreA
                    rows[at].count += 1
                } else {
                    index[key] = rows.count
                    rows.append((vote.a, vote.b, vote.scoreA, 1, []))
                }
            }
        } else {
            rows = votes.map { ($0.a, $0.b, $0.scoreA, 1, $0.covariates) }
        }
        let free = models - 1
        let size = free + covariates
        var theta = [Double](repeating: 0, count: models)
        var beta = [Double](repeating: 0, count: covariates)
        for _ in 0..<iterations {
            var gradient = [Double](repeating: 0, count: size)
            var hessian = [Double](repeating: 0, count: size * size)
            var entries: [(Int, Double)] = []
            for row in rows {
                var z = theta[row.a] - theta[row.b]
                for k in 0..<covariates { z += beta[k] * row.c[k] }
                let p = 1 / (1 + exp(-z))
                let residual = row.score - row.count * p
                let weight = row.count * p * (1 - p)
                entries.removeAll(keepingCapacity: true)
                if row.a < free { entries.append((row.a, 1)) }
                if row.b < free { entries.append((row.b, -1)) }
                for k in 0..<covariates where row.c[k] != 0 { entries.append((free + k, row.c[k])) }
                for (i, xi) in entries {
                    gradient[i] += residual * xi
                    for (j, xj) in entries { hessian[i * size + j] += weight * xi * xj }
                }
            }
            guard let step = solve(hessian, gradient, size: size) else { return nil }
            var largest = 0.0
            for i in 0..<free { theta[i] += step[i] }
            for k in 0..<covariates { beta[k] += step[free + k] }
            for value in step { largest = max(largest, abs(value)) }
            if theta.contains(where: { !$0.isFinite || abs($0) > 50 }) || beta.contains(where: { !$0.isFinite }) { return nil }
            if largest < tolerance { break }
        }
        let mean = theta.reduce(0, +) / Double(models)
        return Result(theta: theta.map { $0 - mean }, coefficients: beta)
    }

    /// 95% intervals of the ratings from `rounds` bootstrap resamples of the votes
    /// (percentiles 2.5 and 97.5 of each model's rating over the resamples whose
    /// fit exists), seeded; nil for a model when fewer than 10 resamples fit.
    public static func bootstrap(_ votes: [Vote], models: Int, rounds: Int, seed: UInt64) -> [(low: Double, high: Double)?] {
        guard rounds > 0, !votes.isEmpty else { return Array(repeating: nil, count: models) }
        var random = CrowdSimulator.Generator(state: seed)
        var samples = Array(repeating: [Double](), count: models)
        var resample = [Vote]()
        resample.reserveCapacity(votes.count)
        for _ in 0..<rounds {
            resample.removeAll(keepingCapacity: true)
            for _ in 0..<votes.count { resample.append(votes[random.int(votes.count)]) }
            guard let fitted = fitWithCovariates(resample, models: models) else { continue }
            for (model, rating) in ratings(fitted.theta).enumerated() { samples[model].append(rating) }
        }
        return samples.map { values in
            guard values.count >= 10 else { return nil }
            let sorted = values.sorted()
            func quantile(_ q: Double) -> Double {
                let position = q * Double(sorted.count - 1)
                let low = Int(position.rounded(.down))
                let high = min(low + 1, sorted.count - 1)
                return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
            }
            return (quantile(0.025), quantile(0.975))
        }
    }

    /// Ratings on the Elo-like scale: 1000 + 400·log10(e)·θ.
    public static func ratings(_ theta: [Double]) -> [Double] { theta.map { 1000 + scale * $0 } }

    /// Solves A·x = b for a symmetric positive-definite A (Cholesky); nil if singular.
    static func solve(_ a: [Double], _ b: [Double], size n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var sum = a[i * n + j]
                for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard sum > 1e-12 else { return nil }
                    l[i * n + i] = sum.squareRoot()
                } else {
                    l[i * n + j] = sum / l[j * n + j]
                }
            }
        }
        var y = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var sum = b[i]
            for k in 0..<i { sum -= l[i * n + k] * y[k] }
            y[i] = sum / l[i * n + i]
        }
        var x = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var sum = y[i]
            for k in (i + 1)..<n { sum -= l[k * n + i] * x[k] }
            x[i] = sum / l[i * n + i]
        }
        return x
    }
}
