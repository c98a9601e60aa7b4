import Glibc
import RewardModel
import Testing
import TestSupport

@Suite struct RewardModelTests {
    /// A planted signal: the chosen response says "because" and is correct;
    /// lengths are random and independent of the label.
    static func comparisons(count: Int, seed: UInt64, hasher: FeatureHasher) -> PreferenceSet {
        var random = SplitMix(seed: seed)
        let filler = ["the", "answer", "is", "maybe", "we", "think", "result", "value", "simple", "data"]
        func sentence(_ words: Int) -> String { (0..<words).map { _ in filler[Int(random.next() % 10)] }.joined(separator: " ") }
        var data = PreferenceSet(hasher: hasher)
        for _ in 0..<count {
            data.append(
                chosen: sentence(3 + Int(random.next() % 30)) + " because it is correct",
                rejected: sentence(3 + Int(random.next() % 30)) + " whatever it is wrong")
        }
        return data
    }

    @Test func learnsAPlantedSignalAndIsDeterministic() {
        let hasher = FeatureHasher(bits: 16)
        let data = Self.comparisons(count: 3000, seed: 1, hasher: hasher)
        var options = TrainingOptions()
        options.epochs = 5
        let (model, history) = BradleyTerryTrainer.train(data, options: options)
        let heldOut = Self.comparisons(count: 500, seed: 2, hasher: hasher)
        #expect(BradleyTerryTrainer.evaluate(model, heldOut, comparisons: Array(0..<500)).accuracy > 0.95)
        #expect(history.epochs.count >= 1)
        let again = BradleyTerryTrainer.train(data, options: options).model
        #expect(again.parameters == model.parameters, "deterministic for a seed")
        // A set this small (fewer than `comparisonsPerShard` comparisons) trains in one
        // shard whatever `shards` asks for, so asking for one gives the same model.
        options.shards = 1
        let sequential = BradleyTerryTrainer.train(data, options: options).model
        #expect(sequential.parameters == model.parameters)
    }

    /// Chosen responses mention exactly one of "alpha" and "beta"; rejected ones
    /// both or neither. No weighting of single words separates that (each word is
    /// as common on both sides), so the linear model stays near chance and the MLP
    /// must learn the interaction.
    @Test func hiddenLayerLearnsAnInteractionTheLinearModelCannot() {
        var random = SplitMix(seed: 9)
        let filler = ["one", "two", "three", "four", "five", "six"]
        func response(_ words: [String]) -> String {
            (words + (0..<4).map { _ in filler[Int(random.next() % 6)] }).shuffled(using: &random).joined(separator: " ")
        }
        func set(_ count: Int) -> PreferenceSet {
            var data = PreferenceSet(hasher: FeatureHasher(bits: 12))
            for index in 0..<count {
                let chosen = index % 2 == 0 ? ["alpha"] : ["beta"]
                let rejected = (index / 2) % 2 == 0 ? ["alpha", "beta"] : []
                data.append(chosen: response(chosen), rejected: response(rejected))
            }
            return data
        }
        let training = set(4000)
        let test = set(1000)
        var options = TrainingOptions()
        options.epochs = 30
        options.patience = 30
        options.embeddingBits = 12
        let linear = BradleyTerryTrainer.train(training, options: options).model
        options.hidden = 16
        options.hiddenLearningRate = 0.1
        let mlp = BradleyTerryTrainer.train(training, options: options).model
        let linearAccuracy = BradleyTerryTrainer.evaluate(linear, test, comparisons: Array(0..<1000)).accuracy
        let mlpAccuracy = BradleyTerryTrainer.evaluate(mlp, test, comparisons: Array(0..<1000)).accuracy
        #expect(linearAccuracy < 0.8, "linear: \(linearAccuracy)")
        #expect(mlpAccuracy > 0.95, "mlp: \(mlpAccuracy)")
        // Scoring a single response agrees with the packed training path.
        let vector = test.table.vector(row: 0)
        let probability = BradleyTerryTrainer.probabilities(mlp, test, comparisons: [0])[0]
        let z = mlp.score(vector) - mlp.score(test.table.vector(row: 1))
        #expect(abs(probability - 1 / (1 + expf(-z))) < 1e-5)
    }

    @Test func tokenizerIsUnicodeAware() {
        #expect(Tokenizer.words("Héllo, WORLD! naïve 中文 42x") == ["héllo", "world", "naïve", "中文", "42x"])
        #expect(Tokenizer.words("ÉCOLE e\u{301}t\u{E9}") == ["école", "e\u{301}té"], "combining marks stay in their word")
        #expect(Tokenizer.words("ASCII-only, fast path: X1 y2") == ["ascii", "only", "fast", "path", "x1", "y2"])
        #expect(Tokenizer.words("  ,,, ") == [])
    }

    @Test func hashedFeaturesAreSortedSignedAndScaled() {
        let hasher = FeatureHasher(bits: 10)
        let vector = hasher.features("the cat the cat")
        #expect(Array(vector.indices.suffix(2)) == [1022, 1023], "length buckets last")
        #expect(vector.values.suffix(2) == [log1pf(15), log1pf(4)])
        let hashed = vector.indices.dropLast(2)
        #expect(hashed.sorted() == Array(hashed) && Set(hashed).count == hashed.count)
        // "the" and "cat" twice each, bigrams "the cat" twice and "cat the" once: magnitudes 2/√4 or 1/√4.
        #expect(vector.values.dropLast(2).allSatisfy { [1, 0.5].contains(abs($0)) })
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
        let check = try PythonReference.run([
            "-c",
            """
            from safetensors.numpy import load_file
            t = load_file("\(path)")["weight"]
            print(t.dtype, t.shape, list(map(float, t)))
            """,
        ])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout == "float32 (4,) [0.5, -1.25, 3.0, 0.0]\n")
    }
}
