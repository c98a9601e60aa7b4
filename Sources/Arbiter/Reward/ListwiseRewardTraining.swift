import Glibc
public import JSON
public import RewardModel
import Storage

extension RewardTraining {
    /// Trains the linear reward model on rankings (Plackett–Luce) and rated
    /// responses (regression), measures on the held-out ones, writes the model
    /// directory: the same files as pairwise training, `config.json` naming the
    /// loss and `metrics.json` reporting per kind — implied-pair accuracy of
    /// held-out rankings (`held_out_accuracy`, as for pairs) and Spearman's ρ of
    /// held-out ratings.
    public static func trainListwise(
        _ data: ListwiseData, lists: (training: [Int], test: [Int]), scored: (training: [Int], test: [Int]), out: String,
        options: RewardTrainingOptions, progress: (EpochReport) -> Void = { _ in }
    ) throws -> JSONValue {
        try options.validate()
        let (model, history) = ListwiseTrainer.train(
            data, lists: lists.training, scored: scored.training, options: options.trainer, progress: progress)
        let accuracy = ListwiseTrainer.impliedPairAccuracy(model, data, lists: lists.test)
        let rho = ListwiseTrainer.spearman(model, data, scored: scored.test)
        let loss = lists.training.isEmpty ? "regression" : scored.training.isEmpty ? "plackett-luce" : "plackett-luce+regression"
        var metrics: JSONObject = [
            "loss": .string(loss), "best_epoch": .int(Int64(history.bestEpoch)),
            "epochs": .array(
                history.epochs.map {
                    ["epoch": .int(Int64($0.epoch)), "loss": .double($0.loss), "validation_loss": .double($0.validationLoss)]
                }),
        ]
        if !lists.test.isEmpty || !lists.training.isEmpty {
            metrics["ranking"] = [
                "held_out_lists": .int(Int64(lists.test.count)), "held_out_implied_pairs": .int(Int64(accuracy.pairs)),
                "pairwise_accuracy": accuracy.pairs > 0 ? .double(accuracy.accuracy) : .null,
            ]
            metrics["held_out_accuracy"] = accuracy.pairs > 0 ? .double(accuracy.accuracy) : .null
        }
        if !scored.test.isEmpty || !scored.training.isEmpty {
            metrics["rating"] = ["held_out_responses": .int(Int64(scored.test.count)), "spearman": rho.map { .double($0) } ?? .null]
        }
        if mkdir(out, 0o755) != 0 && errno != EEXIST { throw ServiceError.unavailable("\(out): \(String(cString: strerror(errno)))") }
        try write(out + "/model.safetensors", SafeTensors.encode(model.tensors, metadata: ["format": "arbiter-bradley-terry"]))
        let config: JSONValue = [
            "model": "bradley-terry-linear", "loss": .string(loss),
            "tokenizer": "unicode-words-lowercase", "features": "signed-hashed unigrams and bigrams of the response, count/sqrt(words)",
            "bits": .int(Int64(options.bits)), "hidden": 0, "embedding_bits": 0,
            "length_features": ["log1p unicode scalars", "log1p words"], "hash": "fnv1a64+murmur3-finaliser",
            "training": [
                "epochs": .int(Int64(options.epochs)), "seed": .int(Int64(bitPattern: options.seed)),
                "rankings": .int(Int64(lists.training.count)), "rated_responses": .int(Int64(scored.training.count)),
                "optimizer": "adagrad", "learning_rate": .double(Double(options.trainer.learningRate)),
                "l2": .double(Double(options.trainer.l2)),
                "ties": "breslow",
            ],
        ]
        try write(out + "/config.json", Array(config.jsonText.utf8) + [0x0A])
        let json = JSONValue.object(metrics)
        try write(out + "/metrics.json", Array(json.jsonText.utf8) + [0x0A])
        return json
    }
}
