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
    /// One battle: model indices and the score of `a` (1 win, 0.5 tie, 0 loss).
    public struct Vote: Sendable, Equatable {
        public var a: Int
        public var b: Int
        public var scoreA: Double
        public init(a: Int, b: Int, scoreA: Double) {
            self.a = a
            self.b = b
            self.scoreA = scoreA
        }
    }

    /// The Elo-like points per natural-log unit of odds (400 / ln 10).
    public static let scale = 400 / 2.302585092994046

    /// θ per model (natural-log strengths, mean 0), or nil when the maximum does
    /// not exist (a model never loses or never wins, or models form groups that
    /// never met) — unregularised, as Chatbot Arena's.
    public static func fit(_ votes: [Vote], models: Int, iterations: Int = 100, tolerance: Double = 1e-12) -> [Double]? {
        guard models >= 2 else { return models == 1 ? [0] : nil }
        let free = models - 1
        var theta = [Double](repeating: 0, count: models)
        for _ in 0..<iterations {
            // Gradient and (negative) Hessian of the log-likelihood over the free θs.
            var gradient = [Double](repeating: 0, count: free)
            var hessian = [Double](repeating: 0, count: free * free)
            for vote in votes {
                let p = 1 / (1 + exp(theta[vote.b] - theta[vote.a]))
                let residual = vote.scoreA - p
                let weight = p * (1 - p)
                if vote.a < free { gradient[vote.a] += residual }
                if vote.b < free { gradient[vote.b] -= residual }
                for (i, si) in [(vote.a, 1.0), (vote.b, -1.0)] where i < free {
                    for (j, sj) in [(vote.a, 1.0), (vote.b, -1.0)] where j < free {
                        hessian[i * free + j] += weight * si * sj
                    }
                }
            }
            guard let step = solve(hessian, gradient, size: free) else { return nil }
            var largest = 0.0
            for i in 0..<free {
                theta[i] += step[i]
                largest = max(largest, abs(step[i]))
            }
            if theta.contains(where: { !$0.isFinite || abs($0) > 50 }) { return nil }
            if largest < tolerance { break }
        }
        let mean = theta.reduce(0, +) / Double(models)
        return theta.map { $0 - mean }
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
