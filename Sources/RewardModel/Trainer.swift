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
    /// Data shards trained in parallel. Fixed rather than "one per core" so a
    /// seed gives the same model on every machine; more shards than cores is fine.
    public var shards = 4
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
    public static func train(_ data: PreferenceSet, comparisons: [Int]? = nil, options: TrainingOptions = TrainingOptions(),
                             progress: (EpochReport) -> Void = { _ in }) -> (model: BradleyTerryModel, history: TrainingHistory) {
        var order = comparisons ?? Array(0..<data.count)
        var random = SplitMix64(seed: options.seed)
        order.shuffle(using: &random)
        let validationCount = order.count >= 20 ? min(options.maxValidation, Int(Double(order.count) * options.validationFraction)) : 0
        let validation = Array(order.prefix(validationCount))
        var training = Array(order.dropFirst(validationCount))

        var model = BradleyTerryModel(bits: data.table.hasher.bits, hidden: options.hidden, embeddingBits: options.embeddingBits, seed: options.seed)
        let state = SharedState(model: model, shards: max(1, options.shards), )
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
                        state.workers[shard].train(order, from: shard + lower * shards, to: min(order.count, shard + upper * shards),
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
                                let z = model.score(view, row: 2 * comparison, parameters: parameters.value, activation: activation.baseAddress!)
                                    - model.score(view, row: 2 * comparison + 1, parameters: parameters.value, activation: activation.baseAddress!)
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
    public static func evaluate(_ model: BradleyTerryModel, _ data: PreferenceSet, comparisons: [Int]) -> (logLoss: Double, accuracy: Double) {
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

/// A pointer handed to concurrent workers that write disjoint elements.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A fixed-size Float buffer owned by a class (freed with it): raw pointers
/// keep the training and merge loops free of exclusivity checks and copies.
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(_ values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(1, count))
        values.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: count) }
    }
    init(repeating value: Float, count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(1, count))
        pointer.initialize(repeating: value, count: count)
    }
    deinit { pointer.deallocate() }
    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// The global parameters and the workers' private copies.
/// @unchecked Sendable: workers touch only their own `Worker` during a round;
/// `merge` runs between rounds (and parallelises over disjoint elements).
final class SharedState: @unchecked Sendable {
    let parameters: FloatBuffer
    let accumulators: FloatBuffer
    let workers: [Worker]
    var round: UInt32 = 0
    private var seen: [UInt32]
    private var union: [Int32] = []
    init(model: BradleyTerryModel, shards: Int) {
        parameters = FloatBuffer(model.parameters)
        accumulators = FloatBuffer(repeating: 1e-8, count: model.parameters.count)
        workers = (0..<shards).map { _ in Worker(parameters: model.parameters, units: Self.units(model), hidden: model.hidden) }
        seen = [UInt32](repeating: 0, count: Self.units(model))
    }

    /// Units of change: each linear weight, each embedding row, and the dense tail (bias + output).
    static func units(_ model: BradleyTerryModel) -> Int { model.dimension + model.embeddingRows + (model.hidden > 0 ? 1 : 0) }

    @inline(__always) static func range(_ unit: Int, _ model: BradleyTerryModel) -> Range<Int> {
        if unit < model.dimension { return unit..<(unit + 1) }
        let row = unit - model.dimension
        if row < model.embeddingRows { return (model.embeddingOffset + row * model.hidden)..<(model.embeddingOffset + (row + 1) * model.hidden) }
        return model.biasOffset..<model.parameters.count
    }

    /// The proximal L2 step on every parameter (then copied to the workers).
    func decay(_ strength: Float) {
        guard strength > 0 else { return }
        let global = UnsafeSendable((parameters: parameters.pointer, accumulators: accumulators.pointer, count: parameters.count))
        let copies = UnsafeSendable(workers.map(\.parameters.pointer))
        let chunks = 8
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let (p, a, count) = global.value
            for index in (count * chunk / chunks)..<(count * (chunk + 1) / chunks) {
                p[index] /= 1 + strength / a[index].squareRoot()
                for copy in copies.value { copy[index] = p[index] }
            }
        }
    }

    /// Moves each touched parameter by the summed change of the workers that touched it,
    /// then brings every worker's copy of those parameters up to date.
    func merge(layout model: BradleyTerryModel) {
        union.removeAll(keepingCapacity: true)
        let round = round
        seen.withUnsafeMutableBufferPointer { seen in
            for worker in workers {
                for unit in worker.touched where seen[Int(unit)] != round {
                    seen[Int(unit)] = round
                    self.union.append(unit)
                }
            }
        }
        let union = self.union
        let chunks = max(1, min(8, union.count / 8192))
        let global = UnsafeSendable((parameters: parameters.pointer, accumulators: accumulators.pointer))
        let copies = UnsafeSendable(workers.map { ($0.parameters.pointer, $0.accumulators.pointer, $0.stamps) })
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let p = global.value.parameters
            let a = global.value.accumulators
            let copies = copies.value
            for position in (union.count * chunk / chunks)..<(union.count * (chunk + 1) / chunks) {
                let unit = Int(union[position])
                let range = Self.range(unit, model)
                for index in range {
                    var change: Float = 0
                    var energy: Float = 0
                    for (wp, wa, stamps) in copies where stamps[unit] == round {
                        change += wp[index] - p[index]
                        energy += wa[index] - a[index]
                    }
                    p[index] += change
                    a[index] += energy
                }
            }
        }
        DispatchQueue.concurrentPerform(iterations: workers.count) { shard in
            let p = global.value.parameters
            let a = global.value.accumulators
            let (wp, wa, _) = copies.value[shard]
            for unit in union {
                for index in Self.range(Int(unit), model) {
                    wp[index] = p[index]
                    wa[index] = a[index]
                }
            }
        }
        for worker in workers { worker.touched.removeAll(keepingCapacity: true) }
    }
}

/// One shard's private copy of the parameters and AdaGrad accumulators.
final class Worker: @unchecked Sendable {
    let parameters: FloatBuffer
    let accumulators: FloatBuffer
    /// The round in which each unit was last touched, and this round's touched units.
    let stamps: UnsafeMutablePointer<UInt32>
    var touched: [Int32] = []
    private var loss = 0.0
    private let scratch: FloatBuffer

    init(parameters: [Float], units: Int, hidden: Int) {
        self.parameters = FloatBuffer(parameters)
        accumulators = FloatBuffer(repeating: 1e-8, count: parameters.count)
        stamps = .allocate(capacity: units)
        stamps.initialize(repeating: 0, count: units)
        scratch = FloatBuffer(repeating: 0, count: max(1, 4 * hidden))
    }

    deinit { stamps.deallocate() }

    func takeLoss() -> Double {
        defer { loss = 0 }
        return loss
    }

    /// AdaGrad steps on comparisons `order[from], order[from + step], …` below `to`.
    func train(_ order: [Int], from: Int, to: Int, step: Int, view: FeatureTable.View, margins: [Float],
               layout model: BradleyTerryModel, options: TrainingOptions, stamp: UInt32) {
        let rate = options.learningRate
        let hidden = model.hidden
        let dimension = model.dimension
        let mask = model.embeddingRows - 1
        let p = parameters.pointer
        let a = accumulators.pointer
        let stamps = stamps
        var touched = self.touched
        self.touched = []
        defer { self.touched = touched }
        var loss = 0.0
        defer { self.loss += loss }
        let hiddenRate = options.hiddenLearningRate
        @inline(__always) func update(_ index: Int, _ g: Float) {
            a[index] += g * g
            p[index] -= rate * g / a[index].squareRoot()
        }
        @inline(__always) func updateHidden(_ index: Int, _ g: Float) {
            a[index] += g * g
            p[index] -= hiddenRate * g / a[index].squareRoot()
        }
        @inline(__always) func touch(_ unit: Int) {
            if stamps[unit] != stamp {
                stamps[unit] = stamp
                touched.append(Int32(unit))
            }
        }
        @inline(__always) func backward(row: Int, gradient g: Float, delta: UnsafeMutablePointer<Float>) {
            let scale = view.scales[row]
            for index in view.offsets[row]..<view.offsets[row + 1] {
                let entry = view.packed[index]
                let bucket = Int(entry >> 8)
                let value = Float(Int8(bitPattern: UInt8(entry & 0xFF))) * scale
                if hidden > 0 {
                    let embeddingRow = bucket & mask
                    let base = model.embeddingOffset + embeddingRow * hidden
                    for k in 0..<hidden where delta[k] != 0 { updateHidden(base + k, value * delta[k]) }
                    touch(dimension + embeddingRow)
                }
            }
        }
        /// One step on the linear weights along chosen − rejected (shared buckets merged).
        @inline(__always) func linearBackward(chosen: Int, rejected: Int, gradient g: Float) {
            var i = view.offsets[chosen]
            let iEnd = view.offsets[chosen + 1]
            var j = view.offsets[rejected]
            let jEnd = view.offsets[rejected + 1]
            let chosenScale = view.scales[chosen]
            let rejectedScale = view.scales[rejected]
            while i < iEnd || j < jEnd {
                let left = i < iEnd ? view.packed[i] >> 8 : UInt32.max
                let right = j < jEnd ? view.packed[j] >> 8 : UInt32.max
                var value: Float = 0
                let bucket = min(left, right)
                if left == bucket {
                    value += Float(Int8(bitPattern: UInt8(view.packed[i] & 0xFF))) * chosenScale
                    i += 1
                }
                if right == bucket {
                    value -= Float(Int8(bitPattern: UInt8(view.packed[j] & 0xFF))) * rejectedScale
                    j += 1
                }
                if value != 0 {
                    update(Int(bucket), g * value)
                    touch(Int(bucket))
                }
            }
        }
        let chosenActivation = scratch.pointer
        let rejectedActivation = chosenActivation + hidden
        let chosenDelta = rejectedActivation + hidden
        let rejectedDelta = chosenDelta + hidden
        margins.withUnsafeBufferPointer { margins in
            order.withUnsafeBufferPointer { order in
                var position = from
                while position < to {
                    let comparison = order[position]
                    position += step
                    let chosen = 2 * comparison
                    let rejected = chosen + 1
                    let z = model.score(view, row: chosen, parameters: p, activation: chosenActivation)
                        - model.score(view, row: rejected, parameters: p, activation: rejectedActivation) - margins[comparison]
                    // d/dz of −log σ(z) = −σ(−z).
                    let g = -1 / (1 + expf(z))
                    loss += Double(z > 20 ? expf(-z) : z < -20 ? -z : log1pf(expf(-z)))
                    if hidden > 0 {
                        let output = p + model.outputOffset
                        for k in 0..<hidden {
                            chosenDelta[k] = chosenActivation[k] > 0 ? g * output[k] : 0
                            rejectedDelta[k] = rejectedActivation[k] > 0 ? -g * output[k] : 0
                        }
                        for k in 0..<hidden {
                            updateHidden(model.outputOffset + k, g * (max(0, chosenActivation[k]) - max(0, rejectedActivation[k])))
                            updateHidden(model.biasOffset + k, chosenDelta[k] + rejectedDelta[k])
                        }
                        touch(dimension + model.embeddingRows)
                    }
                    linearBackward(chosen: chosen, rejected: rejected, gradient: g)
                    if hidden > 0 {
                        backward(row: chosen, gradient: g, delta: chosenDelta)
                        backward(row: rejected, gradient: -g, delta: rejectedDelta)
                    }
                    update(dimension - 2, g * (view.lengths[2 * chosen] - view.lengths[2 * rejected]))
                    update(dimension - 1, g * (view.lengths[2 * chosen + 1] - view.lengths[2 * rejected + 1]))
                    touch(dimension - 2)
                    touch(dimension - 1)
                }
            }
        }
    }
}
