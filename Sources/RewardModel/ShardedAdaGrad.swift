import Dispatch
import Glibc

// The machinery behind `BradleyTerryTrainer`'s deterministic parallelism:
// per-shard parameter copies (`Worker`), the global state and its fixed-order
// merge (`SharedState`), and the raw buffers they share.

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
        if row < model.embeddingRows {
            return (model.embeddingOffset + row * model.hidden)..<(model.embeddingOffset + (row + 1) * model.hidden)
        }
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
    func train(
        _ order: [Int], from: Int, to: Int, step: Int, view: FeatureTable.View, margins: [Float],
        layout model: BradleyTerryModel, options: TrainingOptions, stamp: UInt32
    ) {
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
                    let z =
                        model.score(view, row: chosen, parameters: p, activation: chosenActivation)
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
