public import RewardModel
public import Storage

/// What `arbiter export` writes.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// TRL preference rows: prompt / chosen / rejected (conversational when the prompt is a message list).
    case trl
    /// OpenAI preference fine-tuning: input.messages, preferred_output, non_preferred_output.
    case openai
    /// Anthropic HH-RLHF transcripts: "\n\nHuman: …\n\nAssistant: …".
    case hhRLHF = "hh-rlhf"
    /// Prompt and the chosen response, for supervised fine-tuning (TRL prompt/completion).
    case sft
    /// Every annotation as JSONL, excluded ones marked with why.
    case raw
    /// `raw` as RFC 4180 CSV.
    case csv

    /// Whether pairs are aggregated into one preference each.
    public var isPairwise: Bool { self != .raw && self != .csv }

    /// The data file's extension.
    public var fileExtension: String { self == .csv ? "csv" : "jsonl" }

    /// The data file's media type.
    public var contentType: String { self == .csv ? "text/csv; charset=utf-8" : "application/x-ndjson" }

    /// What the export page calls it.
    public var label: String {
        switch self {
        case .trl: "TRL (prompt / chosen / rejected)"
        case .openai: "OpenAI preference fine-tuning"
        case .hhRLHF: "HH-RLHF transcripts"
        case .sft: "SFT (prompt + chosen)"
        case .raw: "Raw annotations (JSONL)"
        case .csv: "Raw annotations (CSV)"
        }
    }

    /// The media type of an export's file by its name (data, manifest, model files).
    public static func contentType(ofFile name: String) -> String {
        if name.hasSuffix(".safetensors") { return "application/octet-stream" }
        if let format = allCases.first(where: { name.hasSuffix("." + $0.fileExtension) }) { return format.contentType }
        return "application/json"
    }
}

/// How judgements become one preference per pair.
public enum Aggregation: String, Sendable {
    /// Dawid–Skene: each rater weighted by their estimated reliability.
    case weighted
    /// The most decisive votes, each rater counting once.
    case majority
}

/// Options of an export.
public struct ExportOptions: Sendable {
    public var format: ExportFormat = .trl
    public var aggregate: Aggregation = .weighted
    /// Drop pairs whose winning share (vote share or posterior) is below this.
    public var minAgreement = 0.0
    /// Keep raters the detector flagged (quarantined raters are always left out).
    public var includeFlagged = false
    /// Fraction of pairs written to a test file (nil: one file).
    public var testFraction: Double?
    /// Seed of the train/test split.
    public var seed: UInt64 = 0
    /// Add TRL's `margin` column (winning share × mean strength of the winning votes).
    public var margin = false
    /// Train a reward model on the exported pairs into this directory (pairwise formats).
    public var rewardModel: String?
    public var rewardTraining = RewardTrainingOptions()
    /// Also train 5 fold models for out-of-fold predictions (the rater signal).
    public var rewardOutOfFold = true
    /// Called after each training epoch.
    public var rewardProgress: @Sendable (EpochReport) -> Void = { _ in }

    public init() {}
}

/// A reward model's out-of-fold P(response A is better) for one pair.
public struct RewardPrediction: Sendable, Equatable {
    public var pairID: Int64
    public var probabilityA: Double

    /// Replaces a project's stored predictions (atomically: in the caller's
    /// transaction, or in one of its own).
    public static func store(_ predictions: [RewardPrediction], projectID: Int, in db: any Database, now: Int64) throws {
        let body = { try ExportRepository.storePredictions(db, predictions, projectID: projectID, now: now) }
        if db.inTransaction { try body() } else { try db.transaction(body) }
    }
}
