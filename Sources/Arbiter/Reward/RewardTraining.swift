import Dispatch
import Glibc
public import JSON
public import RewardModel
import Storage

/// Settings of `arbiter train` (and of training on export or over the API).
public struct RewardTrainingOptions: Sendable {
    public var bits = 20
    public var epochs = 20
    public var seed: UInt64 = 42
    public var hidden = 0
    /// Writes the hashed chosen − rejected vectors of the training and held-out
    /// comparisons as svmlight files `PREFIX.train.svm` / `PREFIX.test.svm`
    /// (for the scikit-learn side of `Benchmarks/reward`).
    public var featuresOut: String?
    public init() {}

    func validate() throws(ValidationError) {
        guard (8...24).contains(bits) else { throw ValidationError("bits must be between 8 and 24") }
        guard (1...1000).contains(epochs) else { throw ValidationError("epochs must be between 1 and 1000") }
        guard hidden == 0 || (1...1024).contains(hidden) else { throw ValidationError("hidden must be between 1 and 1024 (or 0: linear)") }
    }

    public var trainer: TrainingOptions {
        var options = TrainingOptions()
        options.epochs = epochs
        options.seed = seed
        options.hidden = hidden
        options.embeddingBits = min(bits, 16)
        return options
    }
}

/// `arbiter train` and `arbiter score`: the reward model on files.
public enum RewardTraining {
    /// Reads a TRL line's text fields (strings, or the assistant turns of message lists).
    static func text(_ value: JSONValue?) -> String? {
        if let string = value?.stringValue { return string }
        guard let messages = value?.arrayValue else { return nil }
        let parts = messages.compactMap { $0["role"]?.stringValue == "assistant" ? $0["content"]?.stringValue : nil }
        return parts.isEmpty
            ? messages.compactMap { $0["content"]?.stringValue }.joined(separator: "\n\n") : parts.joined(separator: "\n\n")
    }

    static func parse(_ line: ArraySlice<UInt8>, number: Int) throws(ValidationError) -> JSONValue {
        do {
            return try line.withUnsafeBufferPointer { buffer throws(JSONError) in try JSONValue.parse(buffer) }
        } catch {
            throw ValidationError("line \(number): invalid JSON: \(error)")
        }
    }

    /// Reads TRL lines into hashed comparisons; batches of lines are parsed and
    /// hashed on all cores and appended in file order.
    static func read(input: String, hasher: FeatureHasher) throws -> PreferenceSet {
        var reader = try JSONLReader(path: input)
        defer { reader.close() }
        var data = PreferenceSet(hasher: hasher)
        let chunks = 8
        var batch: [(number: Int, bytes: [UInt8])] = []
        func flush() throws {
            let parts = UnsafeResults<Result<PreferenceSet, ValidationError>>(count: chunks)
            let lines = batch
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                var part = PreferenceSet(hasher: hasher)
                for (number, bytes) in lines[(lines.count * chunk / chunks)..<(lines.count * (chunk + 1) / chunks)] {
                    do {
                        let value = try parse(bytes[...], number: number)
                        guard let chosen = text(value["chosen"]), let rejected = text(value["rejected"]) else {
                            throw ValidationError("line \(number): expected TRL chosen and rejected")
                        }
                        let margin = value["margin"]?.doubleValue ?? 0
                        guard margin.isFinite else { throw ValidationError("line \(number): margin must be a finite number") }
                        part.append(chosen: chosen, rejected: rejected, margin: Float(margin))
                    } catch let error as ValidationError {
                        return parts.set(chunk, .failure(error))
                    } catch {
                        return parts.set(chunk, .failure(ValidationError("line \(number): \(error)")))
                    }
                }
                parts.set(chunk, .success(part))
            }
            for part in parts.values { data.append(contentsOf: try part!.get()) }
            batch.removeAll(keepingCapacity: true)
        }
        while let line = try reader.nextLine() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            batch.append((reader.lineNumber, Array(line)))
            if batch.count == 16384 { try flush() }
        }
        try flush()
        return data
    }

    /// Trains on TRL lines in `input`; writes model.safetensors, config.json, metrics.json into `out`.
    public static func train(
        input: String, out: String, options: RewardTrainingOptions,
        progress: (EpochReport) -> Void = { _ in }
    ) throws -> JSONValue {
        try options.validate()
        let data = try read(input: input, hasher: FeatureHasher(bits: options.bits))
        guard data.count >= 10 else { throw ValidationError("\(input): at least 10 comparisons are needed, found \(data.count)") }
        let split = heldOut(count: data.count, seed: options.seed)
        return try train(data, training: split.training, test: split.test, out: out, options: options, progress: progress)
    }

    /// A seeded 10% held out for the metrics; the trainer splits the rest for early stopping.
    static func heldOut(count: Int, seed: UInt64) -> (training: [Int], test: [Int]) {
        var order = Array(0..<count)
        var random = SplitMix64(seed: seed ^ 0x5EED)
        order.shuffle(using: &random)
        let testCount = max(1, count / 10)
        return (Array(order.dropFirst(testCount)), Array(order.prefix(testCount)))
    }

    /// Trains on `training` comparisons of `data`, measures on `test`, writes the model directory.
    public static func train(
        _ data: PreferenceSet, training: [Int], test: [Int], out: String, options: RewardTrainingOptions,
        progress: (EpochReport) -> Void = { _ in }
    ) throws -> JSONValue {
        try options.validate()
        if let prefix = options.featuresOut {
            try writeSVMLight(data, training, path: prefix + ".train.svm")
            try writeSVMLight(data, test, path: prefix + ".test.svm")
        }
        let (model, history) = BradleyTerryTrainer.train(data, comparisons: training, options: options.trainer, progress: progress)
        let metrics = Self.metrics(model, data, test: test, history: history)
        if mkdir(out, 0o755) != 0 && errno != EEXIST { throw ServiceError.unavailable("\(out): \(String(cString: strerror(errno)))") }
        try write(out + "/model.safetensors", SafeTensors.encode(model.tensors, metadata: ["format": "arbiter-bradley-terry"]))
        let config: JSONValue = [
            "model": .string(options.hidden > 0 ? "bradley-terry-linear+mlp" : "bradley-terry-linear"),
            "tokenizer": "unicode-words-lowercase", "features": "signed-hashed unigrams and bigrams of the response, count/sqrt(words)",
            "bits": .int(Int64(options.bits)), "hidden": .int(Int64(options.hidden)), "embedding_bits": .int(Int64(model.embeddingBits)),
            "length_features": ["log1p unicode scalars", "log1p words"], "hash": "fnv1a64+murmur3-finaliser",
            "training": [
                "epochs": .int(Int64(options.epochs)), "seed": .int(Int64(bitPattern: options.seed)),
                "comparisons": .int(Int64(training.count)),
                "optimizer": "adagrad", "learning_rate": .double(Double(options.trainer.learningRate)),
                "l2": .double(Double(options.trainer.l2)),
                "shards": .int(Int64(options.trainer.shards)),
            ],
        ]
        try write(out + "/config.json", Array(config.jsonText.utf8) + [0x0A])
        try write(out + "/metrics.json", Array(metrics.jsonText.utf8) + [0x0A])
        return metrics
    }

    /// A warning when length may be what the model learned, saying which of the two
    /// signs was found: its scores follow length (|r| > 0.5), and/or its held-out
    /// accuracy is within 2 points of always picking the longer (or shorter)
    /// response, or below it. On fewer than 30 held-out pairs it says the figures are rough.
    static func lengthWarning(
        accuracy: Double, longerWins: Double, shorterWins: Double, correlation: Double, heldOut: Int? = nil
    ) -> String? {
        let followsLength = abs(correlation) > 0.5
        let baseline = max(longerWins, shorterWins)
        let barelyBeats = accuracy < baseline + 0.02
        let side = longerWins >= shorterWins ? "longer" : "shorter"
        let r = "r = \(Double((correlation * 100).rounded()) / 100)"
        let accuracyText = "held-out accuracy (\(percent(accuracy)))"
        let baselineText = "always picking the \(side) response (\(percent(baseline)))"
        let relation = accuracy > baseline ? "barely beats" : accuracy == baseline ? "only equals" : "is below"
        let rough = heldOut.map { $0 < 30 ? " (measured on \($0) held-out pair\($0 == 1 ? "" : "s"), so the figures are rough)" : "" } ?? ""
        switch (followsLength, barelyBeats) {
        case (true, true):
            return
                "The model mostly learned length: its scores follow response length (\(r)) and its \(accuracyText) \(relation) \(baselineText)\(rough)."
        case (true, false):
            return
                "The model's scores follow response length (\(r)), though its \(accuracyText) is well above \(baselineText)\(rough): check that length is not what the raters rewarded."
        case (false, true):
            return
                "The model's \(accuracyText) \(relation) \(baselineText)\(rough); its scores do not follow length (\(r)), so the labels may carry little signal."
        case (false, false):
            return nil
        }
    }

    static func percent(_ value: Double) -> String { "\(Double((value * 1000).rounded()) / 10)%" }

    /// Held-out accuracy, log loss, calibration, the length baselines and a warning.
    static func metrics(_ model: BradleyTerryModel, _ data: PreferenceSet, test: [Int], history: TrainingHistory) -> JSONValue {
        let probabilities = BradleyTerryTrainer.probabilities(model, data, comparisons: test)
        var bins = Array(repeating: (count: 0.0, confidence: 0.0, right: 0.0), count: 10)
        var loss = 0.0
        var right = 0.0
        var scores: [Double] = []
        var lengthGaps: [Double] = []
        var longer = 0
        var shorter = 0
        let lengths = data.table.lengths
        for (comparison, p32) in zip(test, probabilities) {
            let p = Double(p32)
            loss -= log(max(p, 1e-12))
            right += p > 0.5 ? 1 : p == 0.5 ? 0.5 : 0
            // Calibration of the predicted side: confidence max(p, 1 − p) against
            // how often that side was the chosen one, in 10 bins over [0.5, 1].
            let confidence = max(p, 1 - p)
            let bin = min(9, Int((confidence - 0.5) * 20))
            bins[bin].count += 1
            bins[bin].confidence += confidence
            bins[bin].right += p > 0.5 ? 1 : 0
            scores.append(log(max(p, 1e-12)) - log(max(1 - p, 1e-12)))
            let gap = Double(lengths[4 * comparison] - lengths[4 * comparison + 2])
            lengthGaps.append(gap)
            if gap > 0 { longer += 1 } else if gap < 0 { shorter += 1 }
        }
        let count = Double(max(1, test.count))
        let accuracy = right / count
        let ece = bins.reduce(0.0) { $0 + ($1.count > 0 ? abs($1.confidence - $1.right) : 0) } / count
        let longerWins = Double(longer) / count
        let shorterWins = Double(shorter) / count
        let correlation = pearson(scores, lengthGaps)
        let warning = lengthWarning(
            accuracy: accuracy, longerWins: longerWins, shorterWins: shorterWins, correlation: correlation,
            heldOut: test.count)
        return [
            "held_out_pairs": .int(Int64(test.count)), "held_out_accuracy": .double(accuracy), "log_loss": .double(loss / count),
            "expected_calibration_error": .double(ece), "longer_wins": .double(longerWins), "shorter_wins": .double(shorterWins),
            "reward_length_correlation": .double(correlation), "best_epoch": .int(Int64(history.bestEpoch)),
            "epochs": .array(
                history.epochs.map {
                    ["epoch": .int(Int64($0.epoch)), "loss": .double($0.loss), "validation_loss": .double($0.validationLoss)]
                }),
            "warning": warning.map { .string($0) } ?? .null,
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

    /// svmlight lines of chosen − rejected (label 1), every other one negated (label 0),
    /// so a logistic regression without intercept sees both classes.
    static func writeSVMLight(_ data: PreferenceSet, _ comparisons: [Int], path: String) throws {
        let writer = try HashingFileWriter(path: path)
        var line = ""
        for (position, comparison) in comparisons.enumerated() {
            let chosen = data.table.vector(row: 2 * comparison)
            let rejected = data.table.vector(row: 2 * comparison + 1)
            var difference: [Int32: Float] = [:]
            for (index, value) in zip(chosen.indices, chosen.values) { difference[index, default: 0] += value }
            for (index, value) in zip(rejected.indices, rejected.values) { difference[index, default: 0] -= value }
            let sign: Float = position % 2 == 0 ? 1 : -1
            line = position % 2 == 0 ? "1" : "0"
            for (index, value) in difference.sorted(by: { $0.key < $1.key }) where value != 0 { line += " \(index):\(sign * value)" }
            try writer.write(line + "\n")
        }
        _ = try writer.close()
    }

    static func write(_ path: String, _ bytes: [UInt8]) throws {
        let writer = try HashingFileWriter(path: path)
        try writer.write(bytes)
        _ = try writer.close()
    }

    /// A trained model and the hasher its features need.
    public struct LoadedModel: Sendable {
        public let model: BradleyTerryModel
        public let hasher: FeatureHasher

        public func score(_ response: String) -> Double { Double(model.score(hasher.features(response))) }
    }

    /// Reads `config.json` and `model.safetensors` from a model directory.
    public static func load(_ directory: String) throws -> LoadedModel {
        guard let configText = TextFile.read(directory + "/config.json"), let config = try? JSONValue.parse(configText),
            let bits = config["bits"]?.intValue, (8...24).contains(bits)
        else { throw ValidationError("\(directory): no readable config.json") }
        let hidden = Int(config["hidden"]?.intValue ?? 0)
        let embeddingBits = Int(config["embedding_bits"]?.intValue ?? 0)
        guard (0...1024).contains(hidden), hidden == 0 || (4...Int(bits)).contains(embeddingBits) else {
            throw ValidationError("\(directory)/config.json: bad hidden or embedding_bits")
        }
        let bytes = try readBytes(directory + "/model.safetensors")
        guard let tensors = SafeTensors.decode(bytes),
            let model = BradleyTerryModel(bits: Int(bits), hidden: hidden, embeddingBits: embeddingBits, tensors: tensors)
        else {
            throw ValidationError("\(directory)/model.safetensors: not a model for \(bits)-bit features")
        }
        return LoadedModel(model: model, hasher: FeatureHasher(bits: Int(bits)))
    }

    /// Scores each line of `input` with the model in `modelDirectory`; calls `emit` per line.
    public static func score(modelDirectory: String, input: String, emit: (String) -> Void) throws {
        let loaded = try load(modelDirectory)
        var reader = try JSONLReader(path: input)
        defer { reader.close() }
        while let line = try reader.nextLine() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            emit(try score(loaded, parse(line, number: reader.lineNumber), line: reader.lineNumber).jsonText)
        }
    }

    /// `{"chosen_score","rejected_score"}` for a TRL object, `{"score"}` for `{"response"}`.
    public static func score(_ loaded: LoadedModel, _ value: JSONValue, line: Int? = nil) throws(ValidationError) -> JSONValue {
        let prefix = line.map { "line \($0): " } ?? ""
        guard value.objectValue != nil else { throw ValidationError(prefix + "expected a JSON object") }
        if let chosen = text(value["chosen"]), let rejected = text(value["rejected"]) {
            return ["chosen_score": .double(loaded.score(chosen)), "rejected_score": .double(loaded.score(rejected))]
        } else if let response = text(value["response"]) {
            return ["score": .double(loaded.score(response))]
        }
        throw ValidationError(prefix + "expected chosen and rejected, or response")
    }

    static func readBytes(_ path: String) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw ServiceError.unavailable("\(path): \(String(cString: strerror(errno)))") }
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

/// Collects comparisons one by one (as an export writes them) and hashes them
/// in parallel batches, keeping file order.
public struct PreferenceSetBuilder: Sendable {
    private var data: PreferenceSet
    private var test: [Int] = []
    private var pending: [(chosen: String, rejected: String, margin: Float)] = []
    private var pendingTest: [Bool] = []
    private var pairs: [(id: Int64, aWins: Bool)] = []

    public init(hasher: FeatureHasher) { data = PreferenceSet(hasher: hasher) }

    public mutating func append(
        chosen: String, rejected: String, margin: Float, test isTest: Bool, pair: (id: Int64, aWins: Bool) = (0, true)
    ) {
        pending.append((chosen, rejected, margin))
        pairs.append(pair)
        pendingTest.append(isTest)
        if pending.count == 8192 { flush() }
    }

    private mutating func flush() {
        let chunks = 8
        let batch = pending
        let hasher = data.table.hasher
        let parts = UnsafeResults<PreferenceSet>(count: chunks)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            var part = PreferenceSet(hasher: hasher)
            for item in batch[(batch.count * chunk / chunks)..<(batch.count * (chunk + 1) / chunks)] {
                part.append(chosen: item.chosen, rejected: item.rejected, margin: item.margin)
            }
            parts.set(chunk, part)
        }
        for part in parts.values { data.append(contentsOf: part!) }
        for (offset, isTest) in pendingTest.enumerated() where isTest { test.append(data.count - pendingTest.count + offset) }
        pending.removeAll(keepingCapacity: true)
        pendingTest.removeAll(keepingCapacity: true)
    }

    /// The comparisons with training and held-out indices: the export's test split
    /// when it has one (`fromSplit`), else a seeded 10%.
    public mutating func finish(
        seed: UInt64
    )
        -> (PreferenceSet, training: [Int], test: [Int], pairs: [(id: Int64, aWins: Bool)], fromSplit: Bool)
    {
        flush()
        guard !test.isEmpty else {
            let split = RewardTraining.heldOut(count: data.count, seed: seed)
            return (data, split.training, split.test, pairs, false)
        }
        let testSet = Set(test)
        return (data, (0..<data.count).filter { !testSet.contains($0) }, test, pairs, true)
    }
}

/// Per-slot results written by concurrent workers (each writes only its own slot).
final class UnsafeResults<T>: @unchecked Sendable {
    private(set) var values: [T?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: T) { values[index] = value }
}
