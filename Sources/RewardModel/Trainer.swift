import Dispatch
import Glibc

/// Training settings.
public struct TrainingOptions: Sendable {
    /// Most passes over the data; early stopping may end sooner.
    public var epochs = 20
    public var learningRate: Float = 0.15
    /// L2 strength per comparison (like scikit-learn's 1/(C·n)), applied to every
    /// parameter once an epoch as AdaGrad's proximal step w ← w / (1 + η_i·λ·n).
    public var l2: Float = 2e-5
    /// Share of the training comparisons held back for early stopping (at most `maxValidation`).
    public var validationFraction = 0.1
    public var maxValidation = 5000
    /// Stop after this many epochs without a validation loss better by `minImprovement`.
    public var patience = 2
    public var minImprovement = 1e-4
    public var seed: UInt64 = 42
    /// Hidden units of the MLP part (0: linear only).
    public var hidden = 0
    /// AdaGrad rate of the MLP's parameters (the embeddings overfit at the linear rate).
    public var hiddenLearningRate: Float = 0.02
    /// The MLP's embedding table has 2^embeddingBits rows.
    public var embeddingBits = 16
    /// Data shards trained in parallel, at most (one per ``comparisonsPerShard``
    /// training comparisons). Fixed rather than "one per core" so a seed gives the
    /// same model on every machine; more shards than cores is fine.
    public var shards = 4
    /// Training comparisons per shard, at least.
    public static let comparisonsPerShard = 20_000
    /// Comparisons each shard trains on between two merges.
    public var roundSize = 4096
    public init() {}
}

/// One epoch as the trainer saw it.
public struct EpochReport: Sendable {
    public var epoch: Int
    public var loss: Double
    public var validationLoss: Double
    public var validationAccuracy: Double
}

public struct TrainingHistory: Sendable {
    public var epochs: [EpochReport] = []
    public var bestEpoch = 0
}

/// Bradley–Terry training: minimise −log σ(r(chosen) − r(rejected) − margin)
/// with AdaGrad and (lazy) L2, plain Swift loops, no BLAS.
///
/// Parallelism is deterministic delayed-update data parallelism: the training
/// order (shuffled by the seed) is dealt to `shards` workers; each takes AdaGrad
/// steps on a private copy for `roundSize` comparisons; then every touched
/// parameter moves by the sum of the workers' changes (with sparse features they
/// rarely overlap, so this is close to sequential SGD; averaging instead measurably
/// under-trained shared features). Workers merge in a fixed order, so the number
/// of threads only changes the speed, never the model.
public enum BradleyTerryTrainer {
    /// Trains on `comparisons` (indices into `data`; all by default) and returns
    /// the model with the best validation loss.
    public static func train(
        _ data: PreferenceSet, comparisons: [Int]? = nil, options: TrainingOptions = TrainingOptions(),
        progress: (EpochReport) -> Void = { _ in }
    ) -> (model: BradleyTerryModel, history: TrainingHistory) {
        var order = comparisons ?? Array(0..<data.count)
        var random = SplitMix64(seed: options.seed)
        order.shuffle(using: &random)
        let validationCount = order.count >= 20 ? min(options.maxValidation, Int(Double(order.count) * options.validationFraction)) : 0
        let validation = Array(order.prefix(validationCount))
        var training = Array(order.dropFirst(validationCount))

        var model = BradleyTerryModel(
            bits: data.table.hasher.bits, hidden: options.hidden, embeddingBits: options.embeddingBits, seed: options.seed)
        // Summing the shards' changes overshoots on the features every comparison
        // shares when each shard sees little data (measured: with 4 shards, held-out
        // accuracy fell from 86% to 81% between 12k and 14k noisy labels); one shard
        // per `comparisonsPerShard` training comparisons keeps small sets sequential.
        // It depends on the data only, so a seed still gives the same model everywhere.
        let shards = max(1, min(options.shards, training.count / TrainingOptions.comparisonsPerShard))
        let state = SharedState(model: model, shards: shards)
        var history = TrainingHistory()
        var best = (loss: Double.infinity, parameters: model.parameters, epoch: 0)
        data.table.withView { view in
            for epoch in 1...max(1, options.epochs) {
                training.shuffle(using: &random)
                let shards = state.workers.count
                let perShard = (training.count + shards - 1) / shards
                let rounds = max(1, (perShard + options.roundSize - 1) / options.roundSize)
                for round in 0..<rounds {
                    state.round &+= 1
                    let stamp = state.round
                    let order = training
                    let layout = model
                    DispatchQueue.concurrentPerform(iterations: shards) { shard in
                        // Shard s takes every shards-th comparison; this round, a window of them.
                        let lower = round * options.roundSize
                        let upper = min(perShard, lower + options.roundSize)
                        guard lower < upper else { return }
                        state.workers[shard].train(
                            order, from: shard + lower * shards, to: min(order.count, shard + upper * shards),
                            step: shards, view: view, margins: data.margins, layout: layout, options: options, stamp: stamp)
                    }
                    state.merge(layout: model)
                }
                state.decay(options.learningRate * options.l2 * Float(training.count))
                let trainingLoss = state.workers.reduce(0) { $0 + $1.takeLoss() } / Double(max(1, training.count))
                model.parameters = state.parameters.array
                let (validationLoss, accuracy) = evaluate(model, data, comparisons: validation)
                let report = EpochReport(epoch: epoch, loss: trainingLoss, validationLoss: validationLoss, validationAccuracy: accuracy)
                history.epochs.append(report)
                progress(report)
                if validation.isEmpty || validationLoss < best.loss - options.minImprovement {
                    best = (validationLoss, model.parameters, epoch)
                } else if epoch - best.epoch >= options.patience {
                    break
                }
            }
        }
        model.parameters = best.parameters
        history.bestEpoch = best.epoch
        return (model, history)
    }

    /// σ(r(chosen) − r(rejected)) for each comparison, computed on all cores.
    public static func probabilities(_ model: BradleyTerryModel, _ data: PreferenceSet, comparisons: [Int]) -> [Float] {
        var result = [Float](repeating: 0, count: comparisons.count)
        let chunks = min(comparisons.count, 16)
        guard chunks > 0 else { return [] }
        result.withUnsafeMutableBufferPointer { out in
            let out = UnsafeSendable(out)
            data.table.withView { view in
                model.parameters.withUnsafeBufferPointer { parameters in
                    let parameters = UnsafeSendable(parameters.baseAddress!)
                    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                        var activation = [Float](repeating: 0, count: max(1, 2 * model.hidden))
                        activation.withUnsafeMutableBufferPointer { activation in
                            let lower = comparisons.count * chunk / chunks
                            let upper = comparisons.count * (chunk + 1) / chunks
                            for position in lower..<upper {
                                let comparison = comparisons[position]
                                let z =
                                    model.score(
                                        view, row: 2 * comparison, parameters: parameters.value, activation: activation.baseAddress!)
                                    - model.score(
                                        view, row: 2 * comparison + 1, parameters: parameters.value, activation: activation.baseAddress!)
                                out.value[position] = 1 / (1 + expf(-z))
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Mean log loss and accuracy (ties count half) on comparisons.
    public static func evaluate(
        _ model: BradleyTerryModel, _ data: PreferenceSet, comparisons: [Int]
    ) -> (logLoss: Double, accuracy: Double) {
        guard !comparisons.isEmpty else { return (0, 0) }
        var loss = 0.0
        var right = 0.0
        for p in probabilities(model, data, comparisons: comparisons) {
            loss -= log(Double(max(p, 1e-12)))
            right += p > 0.5 ? 1 : p == 0.5 ? 0.5 : 0
        }
        return (loss / Double(comparisons.count), right / Double(comparisons.count))
    }

    /// Out-of-fold P(chosen beats rejected) for every comparison: `folds` models,
    /// each trained without one seeded fold and asked only about that fold.
    public static func outOfFold(_ data: PreferenceSet, folds: Int = 5, options: TrainingOptions = TrainingOptions()) -> [Float] {
        var order = Array(0..<data.count)
        var random = SplitMix64(seed: options.seed ^ 0x0F01D)
        order.shuffle(using: &random)
        var result = [Float](repeating: 0.5, count: data.count)
        let folds = max(2, min(folds, data.count))
        for fold in 0..<folds {
            let held = order.indices.filter { $0 % folds == fold }.map { order[$0] }
            let rest = order.indices.filter { $0 % folds != fold }.map { order[$0] }
            let model = train(data, comparisons: rest, options: options).model
            for (comparison, p) in zip(held, probabilities(model, data, comparisons: held)) { result[comparison] = p }
        }
        return result
    }
}
