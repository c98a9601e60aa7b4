public import JSON

/// One export request, whatever the door: the query string of a streamed download,
/// the JSON body of an export job, or `arbiter export`'s flags. Each door hands
/// over its fields by their API names; they are validated here, once, with one set
/// of defaults and one set of messages.
///
/// ```swift
/// let options = try ExportRequest(fields: ["format": .text("trl"), "margin": .text("true")], door: .download).options
/// ```
public struct ExportRequest: Sendable {
    /// Where the request came in; it decides which fields are allowed and the
    /// server's caps on training (the command line may ask for more).
    public enum Door: Sendable {
        /// `GET /api/projects/{id}/export`: one data file, streamed.
        case download
        /// `POST /api/projects/{id}/exports`: a background job that may train a reward model.
        case job
        /// `arbiter export`.
        case commandLine
    }

    /// A field as a door carries it: text (query strings, flags) or JSON (bodies).
    public enum Field: Sendable {
        case text(String)
        case json(JSONValue)
    }

    /// The validated options.
    public let options: ExportOptions

    /// Fields each door accepts (API names).
    static let fields: [String: Set<String>] = {
        let data: Set<String> = [
            "format", "aggregate", "min_agreement", "include_flagged", "margin", "ranking_pairs", "min_gap", "rewrite_pairs",
            "include_judges",
        ]
        let training: Set<String> = ["reward_model", "test_fraction", "seed", "epochs", "hidden", "bits", "train_seed", "reward_loss"]
        return ["download": data, "job": data.union(training), "commandLine": data.union(training)]
    }()

    /// Validates `fields` for `door`; the first problem is a ``ValidationError`` naming the field.
    public init(fields: [String: Field], door: Door) throws(ValidationError) {
        let allowed = Self.fields["\(door)"] ?? []
        if door == .download, fields["split"] != nil || fields["test_fraction"] != nil {
            throw ValidationError("split: use an export job or the command line (arbiter export --split) for train/test files")
        }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ValidationError("\(unknown): unknown option")
        }
        let reader = Reader(fields: fields)
        var options = ExportOptions()
        switch (try reader.text("format"), door) {
        case (nil, .job): break  // a job defaults to TRL
        case (let name?, _):
            guard let format = ExportFormat(rawValue: name) else {
                throw ValidationError("format: one of \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            options.format = format
        case (nil, _):
            throw ValidationError("format: one of \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let name = try reader.text("aggregate") {
            guard let aggregate = Aggregation(rawValue: name) else { throw ValidationError("aggregate: weighted or majority") }
            options.aggregate = aggregate
        }
        options.minAgreement = try reader.number("min_agreement", 0...1) ?? 0
        options.includeFlagged = try reader.flag("include_flagged") ?? false
        options.includeJudges = try reader.flag("include_judges")
        options.margin = try reader.flag("margin") ?? false
        if let name = try reader.text("ranking_pairs") {
            guard let pairs = RankingPairs(rawValue: name) else { throw ValidationError("ranking_pairs: all or adjacent") }
            options.rankingPairs = pairs
        }
        options.minGap = try reader.number("min_gap", 0...100) ?? options.minGap
        options.rewritePairs = try reader.flag("rewrite_pairs") ?? false
        if let name = try reader.text("reward_loss") {
            guard let loss = RewardLoss(rawValue: name) else {
                throw ValidationError("reward_loss: auto (rankings: Plackett–Luce; ratings: regression) or pairs")
            }
            options.rewardLoss = loss
        }
        if options.rewritePairs && !options.format.isPairwise {
            throw ValidationError("rewrite_pairs: adds pairs to a pairwise format (trl, openai, hh-rlhf, sft)")
        }
        if let fraction = try reader.number("test_fraction", 0...0.9), fraction > 0 { options.testFraction = fraction }
        options.seed = UInt64(try reader.integer("seed", 0...Int(Int32.max)) ?? 0)
        // The server caps what one request may cost: 2^20 buckets (a 4 MiB model to
        // score), 200 epochs, 256 hidden units. The command line runs on the
        // operator's own machine and may ask for more.
        let server = door != .commandLine
        var training = RewardTrainingOptions()
        training.epochs = try reader.integer("epochs", 1...(server ? 200 : 1000)) ?? training.epochs
        training.hidden = try reader.integer("hidden", 0...(server ? 256 : 1024)) ?? training.hidden
        training.bits = try reader.integer("bits", 8...(server ? 20 : 24)) ?? training.bits
        training.seed = UInt64(try reader.integer("train_seed", 0...Int(Int32.max)) ?? Int(training.seed))
        options.rewardTraining = training
        switch door {
        case .download:
            options.rewardModel = nil
        case .job:
            // The job sets the model's directory; here only whether there is one.
            let train = try reader.flag("reward_model") ?? options.format.isPairwise
            if train && !options.format.isPairwise {
                throw ValidationError(
                    "reward_model: needs a pairwise format (\(ExportFormat.allCases.filter(\.isPairwise).map(\.rawValue).joined(separator: ", ")))"
                )
            }
            options.rewardModel = train ? "" : nil
        case .commandLine:
            options.rewardModel = try reader.text("reward_model")
            if options.rewardModel != nil && !options.format.isPairwise {
                throw ValidationError(
                    "reward_model: needs a pairwise format (\(ExportFormat.allCases.filter(\.isPairwise).map(\.rawValue).joined(separator: ", ")))"
                )
            }
        }
        self.options = options
    }

    /// Reads typed values from either kind of field.
    private struct Reader {
        let fields: [String: Field]

        func text(_ key: String) throws(ValidationError) -> String? {
            switch fields[key] {
            case nil: return nil
            case .text(let text): return text
            case .json(let value):
                guard let text = value.stringValue else { throw ValidationError("\(key): expected a string") }
                return text
            }
        }

        func number(_ key: String, _ range: ClosedRange<Double>) throws(ValidationError) -> Double? {
            let number: Double?
            switch fields[key] {
            case nil: return nil
            case .text(let text): number = Double(text)
            case .json(let value): number = value.doubleValue
            }
            guard let number, range.contains(number) else {
                throw ValidationError("\(key): a number from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))")
            }
            return number
        }

        func integer(_ key: String, _ range: ClosedRange<Int>) throws(ValidationError) -> Int? {
            let number: Int?
            switch fields[key] {
            case nil: return nil
            case .text(let text): number = Int(text)
            case .json(let value): number = value.intValue.map(Int.init)
            }
            guard let number, range.contains(number) else {
                throw ValidationError("\(key): a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }

        func flag(_ key: String) throws(ValidationError) -> Bool? {
            switch fields[key] {
            case nil: return nil
            case .text("true"), .text("1"), .json(.bool(true)): return true
            case .text("false"), .text("0"), .json(.bool(false)): return false
            default: throw ValidationError("\(key): true or false")
            }
        }

        static func format(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }
    }
}
