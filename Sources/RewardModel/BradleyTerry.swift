import Glibc

/// One training comparison: features of the chosen and rejected responses.
public struct Comparison: Sendable {
    /// chosen − rejected.
    public var difference: SparseVector
    /// Required gap (TRL's margin), 0 by default.
    public var margin: Float

    public init(chosen: SparseVector, rejected: SparseVector, margin: Float = 0) {
        difference = chosen.subtracting(rejected)
        self.margin = margin
    }
}

/// A linear Bradley–Terry reward model r(x) = w·x, trained on
/// −log σ(r(chosen) − r(rejected) − margin) with AdaGrad and L2, plain Swift
/// loops (no BLAS), shuffled by a seed, with early stopping on a validation split.
public struct LinearRewardModel: Sendable {
    public var weights: [Float]

    /// Training settings.
    public struct Options: Sendable {
        public var epochs = 10
        public var learningRate: Float = 0.1
        public var l2: Float = 1e-6
        public var validationFraction = 0.1
        /// Stop after this many epochs without a better validation loss.
        public var patience = 2
        public var seed: UInt64 = 42
        public init() {}
    }

    /// What training saw.
    public struct History: Sendable {
        public var epochs: [(loss: Double, validationLoss: Double, validationAccuracy: Double)] = []
        public var bestEpoch = 0
    }

    public init(dimension: Int) { weights = [Float](repeating: 0, count: dimension) }

    /// The score of one feature vector.
    public func score(_ features: SparseVector) -> Float {
        var sum: Float = 0
        for (index, value) in zip(features.indices, features.values) { sum += weights[Int(index)] * value }
        return sum
    }

    /// Trains on `comparisons`; returns the model with the best validation loss.
    public static func train(_ comparisons: [Comparison], dimension: Int, options: Options = Options(),
                             progress: (Int, Double) -> Void = { _, _ in }) -> (model: LinearRewardModel, history: History) {
        var order = Array(comparisons.indices)
        var random = SplitMix64(seed: options.seed)
        order.shuffle(using: &random)
        let validationCount = comparisons.count >= 20 ? Int(Double(comparisons.count) * options.validationFraction) : 0
        let validation = Array(order.prefix(validationCount))
        var training = Array(order.dropFirst(validationCount))
        var model = LinearRewardModel(dimension: dimension)
        var squared = [Float](repeating: 1e-8, count: dimension)
        var history = History()
        var best = (loss: Double.infinity, weights: model.weights, epoch: 0)
        for epoch in 1...max(1, options.epochs) {
            training.shuffle(using: &random)
            var total = 0.0
            for index in training {
                let comparison = comparisons[index]
                let z = model.score(comparison.difference) - comparison.margin
                // d/dz of −log σ(z) = −σ(−z).
                let gradient = -1 / (1 + expf(z))
                total += Double(softplus(-z))
                for (feature, value) in zip(comparison.difference.indices, comparison.difference.values) {
                    let i = Int(feature)
                    let g = gradient * value + options.l2 * model.weights[i]
                    squared[i] += g * g
                    model.weights[i] -= options.learningRate * g / squared[i].squareRoot()
                }
            }
            let (validationLoss, accuracy) = model.evaluate(validation.map { comparisons[$0] })
            history.epochs.append((total / Double(max(1, training.count)), validationLoss, accuracy))
            progress(epoch, total / Double(max(1, training.count)))
            if validationLoss < best.loss - 1e-6 || validation.isEmpty {
                best = (validationLoss, model.weights, epoch)
            } else if epoch - best.epoch >= options.patience {
                break
            }
        }
        model.weights = best.weights
        history.bestEpoch = best.epoch
        return (model, history)
    }

    /// Mean log loss and accuracy (ties count half) on comparisons.
    public func evaluate(_ comparisons: [Comparison]) -> (logLoss: Double, accuracy: Double) {
        guard !comparisons.isEmpty else { return (0, 0) }
        var loss = 0.0
        var right = 0.0
        for comparison in comparisons {
            let z = score(comparison.difference)
            loss += Double(softplus(-z))
            right += z > 0 ? 1 : z == 0 ? 0.5 : 0
        }
        return (loss / Double(comparisons.count), right / Double(comparisons.count))
    }
}

/// log(1 + e^x), stable.
@inline(__always) func softplus(_ x: Float) -> Float {
    x > 20 ? x : x < -20 ? expf(x) : log1pf(expf(x))
}

/// SplitMix64 (Steele et al.): a small seeded generator for reproducible shuffles.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    /// Seeded by the first eight bytes (big-endian) of a digest.
    public init(seed bytes: [UInt8]) { state = bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
