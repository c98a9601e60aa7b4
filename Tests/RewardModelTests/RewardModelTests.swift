import Glibc
import RewardModel
import Testing
import TestSupport

@Suite struct RewardModelTests {
    /// A planted signal: the chosen response says "because" and is correct;
    /// lengths are random and independent of the label.
    static func comparisons(count: Int, seed: UInt64, hasher: FeatureHasher) -> [Comparison] {
        var random = SplitMix(seed: seed)
        let filler = ["the", "answer", "is", "maybe", "we", "think", "result", "value", "simple", "data"]
        func sentence(_ words: Int) -> String { (0..<words).map { _ in filler[Int(random.next() % 10)] }.joined(separator: " ") }
        return (0..<count).map { _ in
            let good = sentence(3 + Int(random.next() % 30)) + " because it is correct"
            let bad = sentence(3 + Int(random.next() % 30)) + " whatever it is wrong"
            return Comparison(chosen: hasher.features(good), rejected: hasher.features(bad))
        }
    }

    @Test func learnsAPlantedSignalAndIsDeterministic() {
        let hasher = FeatureHasher(bits: 16)
        let data = Self.comparisons(count: 3000, seed: 1, hasher: hasher)
        var options = LinearRewardModel.Options()
        options.epochs = 5
        let (model, history) = LinearRewardModel.train(data, dimension: hasher.buckets, options: options)
        let heldOut = Self.comparisons(count: 500, seed: 2, hasher: hasher)
        #expect(model.evaluate(heldOut).accuracy > 0.95)
        #expect(history.epochs.count >= 1)
        let again = LinearRewardModel.train(data, dimension: hasher.buckets, options: options).model
        #expect(again.weights == model.weights, "deterministic for a seed")
    }

    @Test func tokenizerIsUnicodeAware() {
        #expect(Tokenizer.words("Héllo, WORLD! naïve 中文 42x").map(String.init) == ["héllo", "world", "naïve", "中文", "42x"])
    }

    @Test func sparseDifferenceMerges() {
        let a = SparseVector(indices: [1, 3, 5], values: [1, 2, 3])
        let b = SparseVector(indices: [3, 4], values: [2, 1])
        #expect(a.subtracting(b) == SparseVector(indices: [1, 4, 5], values: [1, -1, 3]))
    }

    @Test func safetensorsLayoutReadsBackAndLoadsInPython() throws {
        let values: [Float] = [0.5, -1.25, 3, 0]
        let bytes = SafeTensors.encode([("weight", [4], values)], metadata: ["model": "linear-bt"])
        var length = 0
        for index in 0..<8 { length |= Int(bytes[index]) << (8 * index) }
        #expect((8 + length) % 8 == 0)
        #expect(bytes.count == 8 + length + 16)
        #expect(SafeTensors.decode(bytes)?["weight"] == values)
        let directory = TemporaryDirectory()
        let path = directory.path + "/model.safetensors"
        let file = fopen(path, "wb")!
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
        let check = try CommandRunner.run("/usr/bin/env", ["python3", "-c", """
            from safetensors.numpy import load_file
            t = load_file("\(path)")["weight"]
            print(t.dtype, t.shape, list(map(float, t)))
            """])
        #expect(check.status == 0, "pip install safetensors: \(check.stderr)")
        #expect(check.stdout == "float32 (4,) [0.5, -1.25, 3.0, 0.0]\n")
    }
}
