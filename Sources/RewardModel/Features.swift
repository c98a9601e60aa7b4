import Glibc

/// Unicode-aware words: lower-cased runs of letters and digits.
public enum Tokenizer {
    public static func words(_ text: String) -> [Substring] {
        var words: [Substring] = []
        let lowered = text.lowercased()
        var start: String.Index?
        var index = lowered.startIndex
        while index < lowered.endIndex {
            let character = lowered[index]
            if character.isLetter || character.isNumber {
                if start == nil { start = index }
            } else if let begin = start {
                words.append(lowered[begin..<index])
                start = nil
            }
            index = lowered.index(after: index)
        }
        if let begin = start { words.append(lowered[begin...]) }
        return words
    }
}

/// A sparse feature vector: sorted unique indices with values.
public struct SparseVector: Sendable, Equatable {
    public var indices: [Int32]
    public var values: [Float]

    public init(indices: [Int32] = [], values: [Float] = []) {
        self.indices = indices
        self.values = values
    }

    /// self − other, merged.
    public func subtracting(_ other: SparseVector) -> SparseVector {
        var result = SparseVector()
        result.indices.reserveCapacity(indices.count + other.indices.count)
        result.values.reserveCapacity(indices.count + other.indices.count)
        var i = 0
        var j = 0
        while i < indices.count || j < other.indices.count {
            if j == other.indices.count || (i < indices.count && indices[i] < other.indices[j]) {
                result.indices.append(indices[i])
                result.values.append(values[i])
                i += 1
            } else if i == indices.count || other.indices[j] < indices[i] {
                result.indices.append(other.indices[j])
                result.values.append(-other.values[j])
                j += 1
            } else {
                let value = values[i] - other.values[j]
                if value != 0 {
                    result.indices.append(indices[i])
                    result.values.append(value)
                }
                i += 1
                j += 1
            }
        }
        return result
    }
}

/// Signed feature hashing (Weinberger et al. 2009) of a response's unigrams and
/// bigrams into `2^bits` buckets, plus two length features in the last buckets
/// (log characters, log words), which the metrics watch for the length shortcut.
public struct FeatureHasher: Sendable, Equatable {
    public let bits: Int
    public var buckets: Int { 1 << bits }
    /// The two reserved buckets for length.
    public var lengthBuckets: (characters: Int32, words: Int32) { (Int32(buckets - 2), Int32(buckets - 1)) }

    public init(bits: Int = 20) {
        precondition((4...28).contains(bits))
        self.bits = bits
    }

    /// The features of one response.
    public func features(_ response: String) -> SparseVector {
        let words = Tokenizer.words(response)
        var counts: [Int32: Float] = [:]
        let hashSpace = UInt64(buckets - 2)
        func add(_ hash: UInt64) {
            let bucket = Int32(truncatingIfNeeded: (hash >> 1) % hashSpace)
            counts[bucket, default: 0] += (hash & 1) == 0 ? 1 : -1
        }
        var previous: UInt64 = 0x9E37_79B9_7F4A_7C15
        for word in words {
            let hash = Self.hash(word)
            add(hash)
            add(Self.mix(previous ^ (hash &* 0xC2B2_AE3D_27D4_EB4F)))
            previous = hash
        }
        // Scale counts like a bag of words normalised by its length.
        let norm = Float(max(1, words.count)).squareRoot()
        var vector = SparseVector()
        for (bucket, count) in counts.sorted(by: { $0.key < $1.key }) where count != 0 {
            vector.indices.append(bucket)
            vector.values.append(count / norm)
        }
        vector.indices.append(lengthBuckets.characters)
        vector.values.append(Float(log1pf(Float(response.count))))
        vector.indices.append(lengthBuckets.words)
        vector.values.append(Float(log1pf(Float(words.count))))
        return vector
    }

    /// FNV-1a over UTF-8, then a 64-bit finaliser.
    static func hash(_ word: Substring) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in word.utf8 {
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
