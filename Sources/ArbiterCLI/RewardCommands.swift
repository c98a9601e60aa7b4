import ArgumentParser
import Arbiter
import JSON

/// The training flags shared by `arbiter train` and `arbiter export --reward-model`.
struct RewardTrainingFlags: ParsableArguments {
    @Option(help: "Feature buckets as a power of two (8–24; default 20).") var bits: Int?
    @Option(help: "Most passes over the data (early stopping may end sooner; default 20).") var epochs: Int?
    @Option(name: .customLong("train-seed"), help: "Seed for shuffling, the held-out split and initial weights (default 42).")
    var trainSeed: UInt64?
    @Option(help: "Hidden units of an MLP beside the linear model (0: linear only, the default).") var hidden: Int?

    /// The flags as ``ExportRequest`` fields (only those given: its defaults apply).
    var fields: [String: ExportRequest.Field] {
        var fields: [String: ExportRequest.Field] = [:]
        if let bits { fields["bits"] = .text(String(bits)) }
        if let epochs { fields["epochs"] = .text(String(epochs)) }
        if let trainSeed { fields["train_seed"] = .text(String(trainSeed)) }
        if let hidden { fields["hidden"] = .text(String(hidden)) }
        return fields
    }

    var options: RewardTrainingOptions {
        var options = RewardTrainingOptions()
        if let bits { options.bits = bits }
        if let epochs { options.epochs = epochs }
        if let trainSeed { options.seed = trainSeed }
        if let hidden { options.hidden = hidden }
        return options
    }
}

/// `arbiter train`: a Bradley–Terry reward model from TRL lines.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a reward model on TRL prompt/chosen/rejected lines.")

    @Option(help: "TRL JSONL file.") var input: String
    @Option(help: "Directory for model.safetensors, config.json and metrics.json.") var out: String
    @OptionGroup var training: RewardTrainingFlags
    @Option(help: "Seed (same as --train-seed).") var seed: UInt64?
    @Option(name: .customLong("features-out"), help: ArgumentHelp("Also write svmlight features (benchmarks).", visibility: .hidden))
    var featuresOut: String?

    func run() throws {
        var options = training.options
        if let seed { options.seed = seed }
        options.featuresOut = featuresOut
        let metrics = try RewardTraining.train(input: input, out: out, options: options)
        Output.metricsSummary(metrics, out: out)
    }
}

extension Output {
    static func metricsSummary(_ metrics: JSONValue, out: String) {
        let accuracy = metrics["held_out_accuracy"]?.doubleValue ?? 0
        Output.line(
            "held-out accuracy \(Double(Int(accuracy * 1000)) / 10)% on \(metrics["held_out_pairs"]?.intValue ?? 0) pairs; model in \(out)")
        if let warning = metrics["warning"]?.stringValue { Output.line("warning: \(warning)") }
    }
}

/// `arbiter score`: one JSON line per input line.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score", abstract: "Score TRL lines or {prompt, response} lines with a reward model.")

    @Option(help: "The model directory.") var model: String
    @Option(help: "JSONL input.") var input: String

    func run() throws {
        try RewardTraining.score(modelDirectory: model, input: input) { Output.line($0) }
    }
}
