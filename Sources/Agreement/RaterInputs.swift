/// A judgement with what the rater quality signals need.
public struct RatedJudgement: Sendable, Equatable {
    public var unit: Int
    public var rater: Int
    /// 0 = A, 1 = B, 2 = tie, 3 = both_bad (canonical).
    public var category: Int
    /// True when response B was shown on the left.
    public var shownSwapped: Bool?
    public var durationMilliseconds: Int?
    /// A later judgement of a pair the rater judged before (shown swapped).
    public var isRepeat: Bool

    public init(unit: Int, rater: Int, category: Int, shownSwapped: Bool? = nil, durationMilliseconds: Int? = nil, isRepeat: Bool = false) {
        self.unit = unit
        self.rater = rater
        self.category = category
        self.shownSwapped = shownSwapped
        self.durationMilliseconds = durationMilliseconds
        self.isRepeat = isRepeat
    }
}

/// What is known about a unit (pair) apart from its judgements.
public struct UnitFacts: Sendable, Equatable {
    public var lengthA: Int
    public var lengthB: Int
    /// The known answer of a gold pair (category), if any.
    public var gold: Int?
    /// Prompt token ids (for prompt triggers).
    public var tokens: [Int]
    /// Token ids found in one response and not the other (for content targets such
    /// as an entity the poisoner favours): only in A, only in B.
    public var tokensOnlyA: [Int]
    public var tokensOnlyB: [Int]
    /// For prompts with several pairs: the prompt's group and each response's id
    /// within it (for intransitive cycles); nil otherwise.
    public var responses: (prompt: Int, a: Int, b: Int)?
    /// A reward model's out-of-fold probability that A is the better response
    /// (trained without this pair's label), if one was trained.
    public var modelPreferenceA: Double?

    public init(
        lengthA: Int, lengthB: Int, gold: Int? = nil, tokens: [Int] = [], tokensOnlyA: [Int] = [], tokensOnlyB: [Int] = [],
        responses: (prompt: Int, a: Int, b: Int)? = nil, modelPreferenceA: Double? = nil
    ) {
        self.lengthA = lengthA
        self.lengthB = lengthB
        self.gold = gold
        self.tokens = tokens
        self.tokensOnlyA = tokensOnlyA
        self.tokensOnlyB = tokensOnlyB
        self.responses = responses
        self.modelPreferenceA = modelPreferenceA
    }

    public static func == (lhs: UnitFacts, rhs: UnitFacts) -> Bool {
        lhs.lengthA == rhs.lengthA && lhs.lengthB == rhs.lengthB && lhs.gold == rhs.gold && lhs.tokens == rhs.tokens
            && lhs.tokensOnlyA == rhs.tokensOnlyA && lhs.tokensOnlyB == rhs.tokensOnlyB
            && lhs.responses?.prompt == rhs.responses?.prompt && lhs.responses?.a == rhs.responses?.a
            && lhs.responses?.b == rhs.responses?.b
            && lhs.modelPreferenceA == rhs.modelPreferenceA
    }
}

/// One rater's assessment: every signal with its numbers, the reasons that
/// flagged them, and a 0–1 suspicion.
public struct RaterAssessment: Sendable {
    public var rater: Int
    public var judgements: Int
    public var flagged: Bool
    public var suspicion: Double
    public var reasons: [(signal: String, detail: String)]
    /// Signal name → its numbers (rate, n, p, adjusted p, ...).
    public var signals: [String: [String: Double]]
    /// The posterior probability of belonging to the honest part of the crowd
    /// (``CrowdModel``), nil when the rater made no A/B choice the model can read.
    public var honestProbability: Double?
    /// False while the rater has made fewer than the minimum number of choices on
    /// pairs where the others leaned one way and nothing flagged them: "not enough
    /// evidence yet", whatever the numbers say.
    public var enoughEvidence: Bool = true
    /// For a flagged rater, the probability (or adjusted p-value) of the strongest
    /// reason: how likely the flag is to fall on an honest rater. 0 when not flagged.
    public var falseFlagProbability: Double = 0
    /// Why the rater was flagged: malicious if any malicious signal flagged them,
    /// else unreliable; nil when not flagged.
    public var finding: RaterFinding?
    /// Flagged only by signals about how often the rater is right (at chance,
    /// inverting, unreliable): a weighted aggregation can read their votes for
    /// what they are worth; false when not flagged or flagged by a pattern.
    public var flaggedOnAccuracy = false
}
