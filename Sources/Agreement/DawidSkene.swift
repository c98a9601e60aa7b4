import Glibc

/// Dawid & Skene (1979) maximum-likelihood estimation of each rater's confusion
/// matrix and of each unit's true class, by expectation–maximisation.
///
/// > E-step: T_uk ∝ p_k Π_j π_{r_j}(k, l_j) over the judgements j of unit u.
/// > M-step: p_k = mean_u T_uk; π_r(k, l) = Σ_{j by r, label l} T_{u_j k} / Σ_{j by r} T_{u_j k}.
///
/// Starts from majority-vote posteriors; a small additive smoothing keeps rarely
/// seen cells finite.
public enum DawidSkene {
    public struct Result: Sendable {
        /// Estimated prevalence of each true class.
        public var priors: [Double]
        /// Per rater, `categories × categories` row-major: P(says l | truth k).
        public var confusion: [[Double]]
        /// Per unit, the posterior over true classes.
        public var posteriors: [[Double]]
        /// Per rater, Σ_k p_k π(k, k): the chance the rater gives the true class.
        public var accuracy: [Double]
        public var iterations: Int
    }

    public static func estimate(
        _ judgements: [(unit: Int, rater: Int, label: Int)], units: Int, raters: Int, categories: Int = 4,
        maxIterations: Int = 50, tolerance: Double = 1e-6, smoothing: Double = 0.01
    ) -> Result {
        let k = categories
        // Flat buffers: posteriors[u * k + c], confusion[r * k * k + c * k + l].
        var posterior = [Double](repeating: 0, count: units * k)
        for judgement in judgements { posterior[judgement.unit * k + judgement.label] += 1 }
        for u in 0..<units {
            var total = 0.0
            for c in 0..<k { total += posterior[u * k + c] }
            for c in 0..<k { posterior[u * k + c] = total > 0 ? posterior[u * k + c] / total : 1 / Double(k) }
        }
        var priors = [Double](repeating: 1 / Double(k), count: k)
        var matrix = [Double](repeating: 0, count: raters * k * k)
        var logs = [Double](repeating: 0, count: units * k)
        let units32 = judgements.map { Int32($0.unit) }
        let raters32 = judgements.map { Int32($0.rater) }
        let labels8 = judgements.map { UInt8($0.label) }
        var iterations = 0
        for iteration in 1...max(1, maxIterations) {
            iterations = iteration
            // M-step.
            for c in 0..<k { priors[c] = 0 }
            for u in 0..<units { for c in 0..<k { priors[c] += posterior[u * k + c] } }
            for c in 0..<k { priors[c] /= max(1, Double(units)) }
            for i in matrix.indices { matrix[i] = smoothing }
            for j in 0..<judgements.count {
                let base = Int(raters32[j]) * k * k + Int(labels8[j])
                let unitBase = Int(units32[j]) * k
                for c in 0..<k { matrix[base + c * k] += posterior[unitBase + c] }
            }
            for r in 0..<raters {
                for c in 0..<k {
                    let row = r * k * k + c * k
                    var total = 0.0
                    for l in 0..<k { total += matrix[row + l] }
                    for l in 0..<k { matrix[row + l] = log(matrix[row + l] / total) }  // kept as logs for the E-step
                }
            }
            // E-step, in log space.
            for u in 0..<units { for c in 0..<k { logs[u * k + c] = log(max(priors[c], 1e-300)) } }
            for j in 0..<judgements.count {
                let base = Int(raters32[j]) * k * k + Int(labels8[j])
                let unitBase = Int(units32[j]) * k
                for c in 0..<k { logs[unitBase + c] += matrix[base + c * k] }
            }
            var change = 0.0
            for u in 0..<units {
                var top = -Double.infinity
                for c in 0..<k { top = max(top, logs[u * k + c]) }
                var sum = 0.0
                for c in 0..<k {
                    logs[u * k + c] = exp(logs[u * k + c] - top)
                    sum += logs[u * k + c]
                }
                for c in 0..<k {
                    let next = logs[u * k + c] / sum
                    change = max(change, abs(next - posterior[u * k + c]))
                    posterior[u * k + c] = next
                }
            }
            if change < tolerance { break }
        }
        let confusion = (0..<raters).map { r in (0..<(k * k)).map { exp(matrix[r * k * k + $0]) } }
        let posteriors = (0..<units).map { u in Array(posterior[(u * k)..<(u * k + k)]) }
        let accuracy = confusion.map { matrix in (0..<k).reduce(0.0) { $0 + priors[$1] * matrix[$1 * k + $1] } }
        return Result(priors: priors, confusion: confusion, posteriors: posteriors, accuracy: accuracy, iterations: iterations)
    }
}
