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
    /// Prompt token ids (for the trigger enrichment test).
    public var tokens: [Int]
    /// For prompts with several pairs: the prompt's group and each response's id
    /// within it (for intransitive cycles); nil otherwise.
    public var responses: (prompt: Int, a: Int, b: Int)?
    /// A reward model's out-of-fold probability that A is the better response
    /// (trained without this pair's label), if one was trained.
    public var modelPreferenceA: Double?

    public init(lengthA: Int, lengthB: Int, gold: Int? = nil, tokens: [Int] = [], responses: (prompt: Int, a: Int, b: Int)? = nil,
                modelPreferenceA: Double? = nil) {
        self.lengthA = lengthA
        self.lengthB = lengthB
        self.gold = gold
        self.tokens = tokens
        self.responses = responses
        self.modelPreferenceA = modelPreferenceA
    }

    public static func == (lhs: UnitFacts, rhs: UnitFacts) -> Bool {
        lhs.lengthA == rhs.lengthA && lhs.lengthB == rhs.lengthB && lhs.gold == rhs.gold && lhs.tokens == rhs.tokens
            && lhs.responses?.prompt == rhs.responses?.prompt && lhs.responses?.a == rhs.responses?.a && lhs.responses?.b == rhs.responses?.b
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
}
