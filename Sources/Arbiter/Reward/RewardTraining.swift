import Glibc
public import JSON
import RewardModel
import Storage

/// `arbiter train` and `arbiter score`: the reward model on files.
public enum RewardTraining {
    /// Reads a TRL line's text fields (strings, or the assistant turns of message lists).
    static func text(_ value: JSONValue?) -> String? {
        if let string = value?.stringValue { return string }
        guard let messages = value?.arrayValue else { return nil }
        let parts = messages.compactMap { $0["role"]?.stringValue == "assistant" ? $0["content"]?.stringValue : nil }
        return parts.isEmpty ? messages.compactMap { $0["content"]?.stringValue }.joined(separator: "\n\n") : parts.joined(separator: "\n\n")
    }

    static func parse(_ line: ArraySlice<UInt8>, number: Int) throws -> JSONValue {
        do {
            return try line.withUnsafeBufferPointer { buffer throws(JSONError) in try JSONValue.parse(buffer) }
        } catch {
            throw ValidationError("line \(number): invalid JSON: \(error)")
        }
    }

    /// Trains on TRL lines in `input`; writes model.safetensors, config.json, metrics.json into `out`.
    public static func train(input: String, out: String, bits: Int = 20, epochs: Int = 10, seed: UInt64 = 42) throws -> JSONValue {
        guard (8...24).contains(bits) else { throw ValidationError("--bits must be between 8 and 24") }
        var reader = try JSONLReader(path: input)
        defer { reader.close() }
        let hasher = FeatureHasher(bits: bits)
        var comparisons: [Comparison] = []
        var lengths: [(chosen: Int, rejected: Int)] = []
        while let line = try reader.nextLine() {
            if line.allSatisfy({ $0 == 0x20 }) { continue }
            let value = try parse(line, number: reader.lineNumber)
            guard let chosen = text(value["chosen"]), let rejected = text(value["rejected"]) else {
                throw ValidationError("line \(reader.lineNumber): expected TRL chosen and rejected")
            }
            comparisons.append(Comparison(chosen: hasher.features(chosen), rejected: hasher.features(rejected),
                                          margin: Float(value["margin"]?.doubleValue ?? 0)))
            lengths.append((chosen.count, rejected.count))
        }
        guard comparisons.count >= 10 else { throw ValidationError("\(input): at least 10 comparisons are needed, found \(comparisons.count)") }
        // A seeded 10% held out for the metrics; the trainer splits the rest for early stopping.
        var order = Array(comparisons.indices)
        var random = SplitMix64(seed: seed ^ 0x5EED)
        order.shuffle(using: &random)
        let testCount = max(1, comparisons.count / 10)
        let test = Array(order.prefix(testCount))
        let training = order.dropFirst(testCount).map { comparisons[$0] }
        var options = LinearRewardModel.Options()
        options.epochs = epochs
        options.seed = seed
        let (model, history) = LinearRewardModel.train(training, dimension: hasher.buckets, options: options)
        let metrics = Self.metrics(model, test.map { comparisons[$0] }, lengths: test.map { lengths[$0] }, history: history)
        mkdir(out, 0o755)
        try write(out + "/model.safetensors", SafeTensors.encode([("weight", [hasher.buckets], model.weights)], metadata: ["format": "arbiter-linear-bt"]))
        let config: JSONValue = [
            "model": "linear-bradley-terry", "tokenizer": "unicode-words-lowercase", "features": "signed-hashed unigrams and bigrams of the response",
            "bits": .int(Int64(bits)), "length_features": ["log1p characters", "log1p words"], "hash": "fnv1a64+murmur3-finaliser",
            "training": ["epochs": .int(Int64(epochs)), "seed": .int(Int64(bitPattern: seed)), "comparisons": .int(Int64(training.count))],
        ]
        try write(out + "/config.json", Array(config.jsonText.utf8) + [0x0A])
        try write(out + "/metrics.json", Array(metrics.jsonText.utf8) + [0x0A])
        return metrics
    }

    /// Held-out accuracy, log loss, calibration, the length baselines and a warning.
    static func metrics(_ model: LinearRewardModel, _ test: [Comparison], lengths: [(chosen: Int, rejected: Int)], history: LinearRewardModel.History) -> JSONValue {
        let (loss, accuracy) = model.evaluate(test)
        var bins = Array(repeating: (count: 0.0, confidence: 0.0, right: 0.0), count: 10)
        var scores: [Double] = []
        var logLengths: [Double] = []
        for (comparison, length) in zip(test, lengths) {
            let z = Double(model.score(comparison.difference))
            // Calibration of the predicted side: confidence max(p, 1 − p) against
            // how often that side was the chosen one, in 10 bins over [0.5, 1].
            let p = 1 / (1 + exp(-z))
            let confidence = max(p, 1 - p)
            let bin = min(9, Int((confidence - 0.5) * 20))
            bins[bin].count += 1
            bins[bin].confidence += confidence
            bins[bin].right += p > 0.5 ? 1 : 0
            scores.append(z)
            logLengths.append(log1p(Double(length.chosen)) - log1p(Double(length.rejected)))
        }
        let ece = bins.reduce(0.0) { $0 + ($1.count > 0 ? abs($1.confidence - $1.right) : 0) } / Double(max(1, test.count))
        let longer = Double(lengths.filter { $0.chosen > $0.rejected }.count) / Double(max(1, lengths.count))
        let shorter = Double(lengths.filter { $0.chosen < $0.rejected }.count) / Double(max(1, lengths.count))
        let correlation = pearson(scores, logLengths)
        var warning: JSONValue = .null
        if abs(correlation) > 0.5 || accuracy < max(longer, shorter) + 0.02 {
            warning = .string("The model mostly learned length: its scores follow response length (r = \(Double(Int(correlation * 100)) / 100)) and it barely beats picking the \(longer >= shorter ? "longer" : "shorter") response.")
        }
        return [
            "held_out_pairs": .int(Int64(test.count)), "held_out_accuracy": .double(accuracy), "log_loss": .double(loss),
            "expected_calibration_error": .double(ece), "longer_wins": .double(longer), "shorter_wins": .double(shorter),
            "reward_length_correlation": .double(correlation), "best_epoch": .int(Int64(history.bestEpoch)), "warning": warning,
        ]
    }

    static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        guard x.count > 1 else { return 0 }
        let mx = x.reduce(0, +) / Double(x.count)
        let my = y.reduce(0, +) / Double(y.count)
        var sxy = 0.0
        var sxx = 0.0
        var syy = 0.0
        for (a, b) in zip(x, y) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
            syy += (b - my) * (b - my)
        }
        return sxx > 0 && syy > 0 ? sxy / (sxx * syy).squareRoot() : 0
    }

    static func write(_ path: String, _ bytes: [UInt8]) throws {
        let writer = try HashingFileWriter(path: path)
        try writer.write(bytes)
        _ = try writer.close()
    }

    /// Scores each line of `input` with the model in `modelDirectory`; calls `emit` per line.
    public static func score(modelDirectory: String, input: String, emit: (String) -> Void) throws {
        guard let configText = TextFile.read(modelDirectory + "/config.json"), let config = try? JSONValue.parse(configText),
              let bits = config["bits"]?.intValue else { throw ValidationError("\(modelDirectory): no readable config.json") }
        let bytes = try readBytes(modelDirectory + "/model.safetensors")
        guard let weights = SafeTensors.decode(bytes)?["weight"], weights.count == 1 << Int(bits) else {
            throw ValidationError("\(modelDirectory)/model.safetensors: not a model for \(bits)-bit features")
        }
        let hasher = FeatureHasher(bits: Int(bits))
        var model = LinearRewardModel(dimension: weights.count)
        model.weights = weights
        var reader = try JSONLReader(path: input)
        defer { reader.close() }
        while let line = try reader.nextLine() {
            if line.allSatisfy({ $0 == 0x20 }) { continue }
            let value = try parse(line, number: reader.lineNumber)
            if let chosen = text(value["chosen"]), let rejected = text(value["rejected"]) {
                let result: JSONValue = ["chosen_score": .double(Double(model.score(hasher.features(chosen)))),
                                         "rejected_score": .double(Double(model.score(hasher.features(rejected))))]
                emit(result.jsonText)
            } else if let response = text(value["response"]) {
                emit(JSONValue.object(["score": .double(Double(model.score(hasher.features(response))))]).jsonText)
            } else {
                throw ValidationError("line \(reader.lineNumber): expected chosen/rejected or response")
            }
        }
    }

    static func readBytes(_ path: String) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw ValidationError("\(path): \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }
}
