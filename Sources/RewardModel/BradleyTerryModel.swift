import Glibc

/// A Bradley–Terry reward model r(response): linear over the hashed features
/// and the two length features, plus, with `hidden > 0`, a small MLP over the
/// hashed features (embedding bag → bias → ReLU → output weights).
///
/// All parameters live in one flat array: `[linear D][embedding R×H][bias H][output H]`
/// with D = 2^bits, R = 2^embeddingBits (hashed buckets folded into R rows).
public struct BradleyTerryModel: Sendable {
    public let bits: Int
    public let hidden: Int
    public let embeddingBits: Int
    public var parameters: [Float]

    public var dimension: Int { 1 << bits }
    public var embeddingRows: Int { hidden == 0 ? 0 : 1 << embeddingBits }
    var embeddingOffset: Int { dimension }
    var biasOffset: Int { dimension + embeddingRows * hidden }
    var outputOffset: Int { biasOffset + hidden }

    /// Zero linear weights; small seeded random embedding and output weights.
    public init(bits: Int, hidden: Int = 0, embeddingBits: Int = 16, seed: UInt64 = 42) {
        precondition(hidden >= 0 && (hidden == 0 || (4...bits).contains(embeddingBits)))
        self.bits = bits
        self.hidden = hidden
        self.embeddingBits = hidden == 0 ? 0 : embeddingBits
        let rows = hidden == 0 ? 0 : 1 << embeddingBits
        parameters = [Float](repeating: 0, count: (1 << bits) + rows * hidden + 2 * hidden)
        guard hidden > 0 else { return }
        var random = SplitMix64(seed: seed ^ 0xE3B0_C442)
        for index in dimension..<biasOffset { parameters[index] = 0.1 * random.nextSigned() }
        for index in outputOffset..<(outputOffset + hidden) { parameters[index] = 0.1 * random.nextSigned() }
    }

    /// Rebuilds a model from its tensors (as written by `tensors`).
    public init?(bits: Int, hidden: Int, embeddingBits: Int, tensors: [String: [Float]]) {
        let linear = tensors["linear.weight"] ?? tensors["weight"]
        guard let linear, linear.count == 1 << bits else { return nil }
        self.init(bits: bits, hidden: 0)
        guard hidden > 0 else {
            parameters = linear
            return
        }
        guard let embedding = tensors["embedding.weight"], embedding.count == (1 << embeddingBits) * hidden,
            let bias = tensors["hidden.bias"], bias.count == hidden,
            let output = tensors["output.weight"], output.count == hidden
        else { return nil }
        self = BradleyTerryModel(bits: bits, hidden: hidden, embeddingBits: embeddingBits)
        parameters = linear + embedding + bias + output
    }

    /// Named tensors for safetensors.
    public var tensors: [(name: String, shape: [Int], values: [Float])] {
        var result: [(name: String, shape: [Int], values: [Float])] = [("linear.weight", [dimension], Array(parameters[0..<dimension]))]
        if hidden > 0 {
            result.append(("embedding.weight", [embeddingRows, hidden], Array(parameters[embeddingOffset..<biasOffset])))
            result.append(("hidden.bias", [hidden], Array(parameters[biasOffset..<outputOffset])))
            result.append(("output.weight", [hidden], Array(parameters[outputOffset...])))
        }
        return result
    }

    /// The reward of one response's features (from `FeatureHasher.features`).
    public func score(_ features: SparseVector) -> Float {
        var table = [(bucket: Int, value: Float)]()
        for (index, value) in zip(features.indices, features.values) { table.append((Int(index), value)) }
        var linear: Float = 0
        for (bucket, value) in table { linear += parameters[bucket] * value }
        guard hidden > 0 else { return linear }
        var activation = Array(parameters[biasOffset..<outputOffset])
        let mask = embeddingRows - 1
        for (bucket, value) in table where bucket < dimension - 2 {
            let row = embeddingOffset + (bucket & mask) * hidden
            for k in 0..<hidden { activation[k] += value * parameters[row + k] }
        }
        var output: Float = 0
        for k in 0..<hidden where activation[k] > 0 { output += activation[k] * parameters[outputOffset + k] }
        return linear + output
    }

    /// The reward of a row of a feature table; `activation` (count `hidden`) is scratch.
    @inline(__always)
    func score(_ table: FeatureTable.View, row: Int, parameters p: UnsafePointer<Float>, activation: UnsafeMutablePointer<Float>) -> Float {
        let scale = table.scales[row]
        var linear = p[dimension - 2] * table.lengths[2 * row] + p[dimension - 1] * table.lengths[2 * row + 1]
        let start = table.offsets[row]
        let end = table.offsets[row + 1]
        for index in start..<end {
            let entry = table.packed[index]
            linear += p[Int(entry >> 8)] * Float(Int8(bitPattern: UInt8(entry & 0xFF))) * scale
        }
        guard hidden > 0 else { return linear }
        let h = hidden
        let mask = embeddingRows - 1
        for k in 0..<h { activation[k] = p[biasOffset + k] }
        for index in start..<end {
            let entry = table.packed[index]
            let value = Float(Int8(bitPattern: UInt8(entry & 0xFF))) * scale
            let row = p + embeddingOffset + (Int(entry >> 8) & mask) * h
            for k in 0..<h { activation[k] += value * row[k] }
        }
        var output: Float = 0
        let weights = p + outputOffset
        for k in 0..<h { output += max(0, activation[k]) * weights[k] }
        return linear + output
    }
}

extension FeatureTable {
    /// Unsafe read-only buffers over a table, for the training loops
    /// (@unchecked Sendable: only read, while the table is alive in `withView`).
    struct View: @unchecked Sendable {
        let offsets: UnsafeBufferPointer<Int>
        let packed: UnsafeBufferPointer<UInt32>
        let scales: UnsafeBufferPointer<Float>
        let lengths: UnsafeBufferPointer<Float>
    }

    func withView<R>(_ body: (View) throws -> R) rethrows -> R {
        try offsets.withUnsafeBufferPointer { offsets in
            try packed.withUnsafeBufferPointer { packed in
                try scales.withUnsafeBufferPointer { scales in
                    try lengths.withUnsafeBufferPointer { lengths in
                        try body(View(offsets: offsets, packed: packed, scales: scales, lengths: lengths))
                    }
                }
            }
        }
    }
}
