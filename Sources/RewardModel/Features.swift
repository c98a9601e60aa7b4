import Glibc

/// A sparse feature vector: sorted unique indices with values.
public struct SparseVector: Sendable, Equatable {
    public var indices: [Int32]
    public var values: [Float]

    public init(indices: [Int32] = [], values: [Float] = []) {
        self.indices = indices
        self.values = values
    }
}

/// Signed feature hashing (Weinberger et al. 2009) of a response's unigrams and
/// bigrams into `2^bits` buckets, plus two length features in the last buckets
/// (log characters, log words), which the metrics watch for the length shortcut.
/// A bucket's value is its signed count divided by √words.
public struct FeatureHasher: Sendable, Equatable {
    public let bits: Int
    public var buckets: Int { 1 << bits }
    /// The two reserved buckets for length.
    public var lengthBuckets: (characters: Int32, words: Int32) { (Int32(buckets - 2), Int32(buckets - 1)) }

    public init(bits: Int = 20) {
        precondition((4...24).contains(bits), "feature bits must be 4...24")
        self.bits = bits
    }

    /// The features of one response (hashed buckets, then the two length buckets).
    public func features(_ response: String) -> SparseVector {
        var table = FeatureTable(hasher: self)
        table.append(response)
        return table.vector(row: 0)
    }

    /// Appends `bucket << 1 | negative` for every unigram and bigram of `text` to
    /// `out`; returns the word count.
    func hashes(_ text: String, into out: inout [UInt32]) -> Int {
        let space = UInt64(buckets - 2)
        var words = 0
        var previous: UInt64 = 0x9E37_79B9_7F4A_7C15
        func add(_ hash: UInt64) { out.append(UInt32(truncatingIfNeeded: ((hash >> 1) % space) << 1 | (hash & 1))) }
        Tokenizer.forEachWord(in: text) { word in
            let hash = Self.hash(word)
            add(hash)
            add(Self.mix(previous ^ (hash &* 0xC2B2_AE3D_27D4_EB4F)))
            previous = hash
            words += 1
        }
        return words
    }

    /// FNV-1a over UTF-8, then a 64-bit finaliser.
    static func hash(_ word: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in word {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01B3
        }
        return mix(hash)
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return z ^ (z >> 33)
    }
}

/// Many responses' features, packed for training: each hashed feature is one
/// `UInt32` (bucket << 8 | signed count, clamped to ±127), with a per-row scale
/// (1/√words) and the two length features — about 4 bytes per feature instead
/// of a `SparseVector`'s 8 plus two array headers per row.
public struct FeatureTable: Sendable {
    public let hasher: FeatureHasher
    public private(set) var offsets: [Int] = [0]
    public private(set) var packed: [UInt32] = []
    public private(set) var scales: [Float] = []
    /// log1p(characters), log1p(words) per row.
    public private(set) var lengths: [Float] = []
    private var scratch: [UInt32] = []

    public init(hasher: FeatureHasher) { self.hasher = hasher }

    public var count: Int { scales.count }

    /// Hashes one response into a new row.
    public mutating func append(_ text: String) {
        scratch.removeAll(keepingCapacity: true)
        let words = hasher.hashes(text, into: &scratch)
        scratch.sort()
        var index = 0
        while index < scratch.count {
            let bucket = scratch[index] >> 1
            var count = 0
            while index < scratch.count, scratch[index] >> 1 == bucket {
                count += scratch[index] & 1 == 0 ? 1 : -1
                index += 1
            }
            if count != 0 { packed.append(bucket << 8 | UInt32(UInt8(bitPattern: Int8(clamping: count)))) }
        }
        offsets.append(packed.count)
        scales.append(1 / Float(max(1, words)).squareRoot())
        lengths.append(log1pf(Float(text.unicodeScalars.count)))
        lengths.append(log1pf(Float(words)))
    }

    /// Appends every row of `other` (hashed with the same hasher).
    public mutating func append(contentsOf other: FeatureTable) {
        precondition(other.hasher == hasher)
        let base = packed.count
        packed.append(contentsOf: other.packed)
        offsets.append(contentsOf: other.offsets.dropFirst().map { $0 + base })
        scales.append(contentsOf: other.scales)
        lengths.append(contentsOf: other.lengths)
    }

    public mutating func reserveCapacity(rows: Int, features: Int) {
        offsets.reserveCapacity(rows + 1)
        scales.reserveCapacity(rows)
        lengths.reserveCapacity(2 * rows)
        packed.reserveCapacity(features)
    }

    /// One row as a sparse vector (buckets ascending, then the length buckets).
    public func vector(row: Int) -> SparseVector {
        var vector = SparseVector()
        for entry in packed[offsets[row]..<offsets[row + 1]] {
            vector.indices.append(Int32(entry >> 8))
            vector.values.append(Float(Int8(bitPattern: UInt8(entry & 0xFF))) * scales[row])
        }
        vector.indices += [hasher.lengthBuckets.characters, hasher.lengthBuckets.words]
        vector.values += [lengths[2 * row], lengths[2 * row + 1]]
        return vector
    }
}

/// Preference comparisons over a feature table: comparison i is row 2i (chosen)
/// against row 2i + 1 (rejected), with TRL's margin.
public struct PreferenceSet: Sendable {
    public var table: FeatureTable
    public var margins: [Float] = []

    public init(hasher: FeatureHasher) { table = FeatureTable(hasher: hasher) }

    public var count: Int { margins.count }

    public mutating func append(chosen: String, rejected: String, margin: Float = 0) {
        table.append(chosen)
        table.append(rejected)
        margins.append(margin)
    }

    public mutating func append(contentsOf other: PreferenceSet) {
        table.append(contentsOf: other.table)
        margins.append(contentsOf: other.margins)
    }
}
