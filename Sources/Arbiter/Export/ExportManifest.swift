public import JSON

/// What an export wrote and why: written beside the data as `OUT.manifest.json`,
/// returned to the API and the command line. Every exclusion and every dropped
/// pair is counted here with its reason.
public struct ExportManifest: Sendable {
    /// One data file with its SHA-256 and line count.
    public struct File: Sendable, Equatable {
        public var path: String
        public var sha256: String
        public var lines: Int
    }

    /// How many of what went where.
    public enum Counts: Sendable {
        /// Pairwise formats: pairs written, judgements used and left out, pairs dropped by reason,
        /// and how many of the pairs written carry a reviewer's final label or a gold key.
        case pairwise(
            exported: Int, used: Int, excluded: Int, dropped: [(reason: String, count: Int)], reviewerLabels: Int,
            goldLabels: Int)
        /// Raw and CSV: judgements written and how many of them are marked excluded.
        case raw(annotations: Int, excluded: Int)
    }

    /// The reward model trained on the export.
    public struct RewardModelSummary: Sendable {
        public var directory: String
        /// Which pairs the held-out metrics were measured on.
        public var heldOut: String
        /// The trainer's metrics (as in `metrics.json`).
        public var metrics: JSONValue
    }

    public var projectID: Int
    public var projectName: String
    /// Unix milliseconds.
    public var createdAt: Int64
    /// The validated request (format, aggregation, filters, split).
    public var options: ExportOptions
    public var counts = Counts.raw(annotations: 0, excluded: 0)
    /// Raters left out: their name and `quarantined`, `flagged: malicious` or
    /// `flagged: unreliable` (the latter only when the aggregation cannot weigh them).
    public var excludedRaters: [(annotator: String?, reason: String)] = []
    /// Raters flagged `unreliable` and kept, their votes weighted by their estimated
    /// accuracy (weighted pairwise exports).
    public var weightedRaters: [String] = []
    public var files: [File] = []
    /// Whether model judges' verdicts were counted, and whose.
    public var judges = JudgeUse()
    public var rewardModel: RewardModelSummary?
    /// Agreement of the judgements exported, at the same moment.
    public var agreement: ProjectAgreement?
    /// How the judgements were collected.
    public var collection: CollectionStatus?

    /// Model judges in an export: counted or not, and why.
    public struct JudgeUse: Sendable {
        public var counted = false
        /// Why they were not counted (nil when counted or when the project has none).
        public var reason: String?
        /// Judges whose verdicts count, and how many verdicts that is.
        public var names: [String] = []
        public var votes = 0
        /// Judges left out though counting was asked for, with why.
        public var leftOut: [(name: String, reason: String)] = []
    }

    init(projectID: Int, projectName: String, createdAt: Int64, options: ExportOptions) {
        self.projectID = projectID
        self.projectName = projectName
        self.createdAt = createdAt
        self.options = options
    }
}
