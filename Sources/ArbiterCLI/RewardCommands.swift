import ArgumentParser
import Arbiter
import JSON

/// `arbiter train`: a Bradley–Terry reward model from TRL lines.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Train a reward model on TRL prompt/chosen/rejected lines.")

    @Option(help: "TRL JSONL file.") var input: String
    @Option(help: "Directory for model.safetensors, config.json and metrics.json.") var out: String
    @Option(help: "Feature buckets as a power of two.") var bits = 20
    @Option(help: "Most passes over the data (early stopping may end sooner).") var epochs = 10
    @Option(help: "Seed for shuffling and the held-out split.") var seed: UInt64 = 42

    func run() throws {
        let metrics = try RewardTraining.train(input: input, out: out, bits: bits, epochs: epochs, seed: seed)
        let accuracy = metrics["held_out_accuracy"]?.doubleValue ?? 0
        Output.line("held-out accuracy \(Double(Int(accuracy * 1000)) / 10)% on \(metrics["held_out_pairs"]?.intValue ?? 0) pairs; model in \(out)")
        if let warning = metrics["warning"]?.stringValue { Output.line("warning: \(warning)") }
    }
}

/// `arbiter score`: one JSON line per input line.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "score", abstract: "Score TRL lines or {prompt, response} lines with a reward model.")

    @Option(help: "The model directory.") var model: String
    @Option(help: "JSONL input.") var input: String

    func run() throws {
        try RewardTraining.score(modelDirectory: model, input: input) { Output.line($0) }
    }
}
