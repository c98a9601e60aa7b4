public import RewardModel
public import Storage

/// How judgements become one preference per pair.
public enum Aggregation: String, Sendable {
    /// Dawid–Skene: each rater weighted by their estimated reliability.
    case weighted
    /// The most decisive votes, each rater counting once.
    case majority
}

/// What a ranking or rating project's reward model trains on.
public enum RewardLoss: String, Sendable {
    /// Rankings: each counted ranking with the Plackett–Luce loss; ratings: each
    /// response's weighted mean score as a regression target.
    case auto
    /// The exported pairs (implied, score-gap, rewrite), as for pairwise projects.
    case pairs
}

/// Which pairs a ranking gives.
public enum RankingPairs: String, Sendable {
    /// All K·(K−1)/2, each with weight 1/C(K,2) (InstructGPT's).
    case all
    /// Neighbours in the order only (K − 1 pairs, weight 1/(K − 1)).
    case adjacent
}

/// Options of an export.
public struct ExportOptions: Sendable {
    public var format: ExportFormat = .trl
    public var aggregate: Aggregation = .weighted
    /// Drop pairs whose winning share (vote share or posterior) is below this.
    public var minAgreement = 0.0
    /// Keep raters the detector flagged (quarantined raters are always left out).
    public var includeFlagged = false
    /// Count model judges' verdicts (nil: as the project's `count_judges` says).
    public var includeJudges: Bool?
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
    /// Name files in the manifest relative to the data file's directory (an export
    /// job's files are written in a staging directory, then moved and served by name).
    public var manifestPathsRelative = false
    /// Ranking projects: which implied pairs of the consensus ranking become rows.
    public var rankingPairs = RankingPairs.all
    /// Rating projects: the smallest gap in mean score for two responses to make a pair.
    public var minGap = 1.0
    /// Add "rewritten > original" pairs to a pairwise format.
    public var rewritePairs = false
    /// What the reward model of a ranking or rating project trains on.
    public var rewardLoss = RewardLoss.auto
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
        let body = { try ExportReads.storePredictions(db, predictions, projectID: projectID, now: now) }
        if db.inTransaction { try body() } else { try db.transaction(body) }
    }
}
