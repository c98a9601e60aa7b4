public import Agreement
public import Storage

/// Rater quality and poisoning signals over a project's stored judgements.
public enum RaterQuery {
    /// The users the detector flags in a project and no admin cleared (for
    /// exports' default exclusion).
    public static func flaggedUserIDs(_ db: any Database, projectID: Int) throws -> Set<Int> {
        let loaded = try load(db, projectID: projectID)
        let decisions = try RaterStatus.all(db, projectID: projectID)
        return Set(loaded.assessments.filter(\.flagged).map { loaded.userIDs[$0.rater] }.filter { decisions[$0] == nil })
    }

    /// Everything the signals were computed from, and the assessments.
    struct Loaded {
        var assessments: [RaterAssessment]
        var crowd: RaterQuality.CrowdSummary
        var raterNames: [String]
        var userIDs: [Int]
        var tokenNames: [Int: String]
        var durations: [[Double]]
    }

    /// Every rater of the project, most suspicious first.
    public static func report(_ db: any Database, projectID: Int) throws -> RaterReport {
        let loaded = try load(db, projectID: projectID)
        let decisions = try RaterStatus.all(db, projectID: projectID)
        let entries = loaded.assessments.sorted { ($0.suspicion, $0.judgements) > ($1.suspicion, $1.judgements) }.map { assessment in
            let userID = loaded.userIDs[assessment.rater]
            let decision = decisions[userID]
            let durations = loaded.durations[assessment.rater]
            return RaterReport.Entry(
                userID: userID, annotator: loaded.raterNames[assessment.rater], annotations: assessment.judgements,
                status: decision?.status ?? (assessment.flagged ? "flagged" : "ok"), comment: decision?.comment,
                suspicion: assessment.suspicion, medianDurationMilliseconds: durations.isEmpty ? nil : Statistics.median(durations),
                reasons: assessment.reasons, signals: assessment.signals, honestProbability: assessment.honestProbability,
                enoughEvidence: assessment.enoughEvidence)
        }
        return RaterReport(raters: entries, tokenNames: loaded.tokenNames, crowd: loaded.crowd)
    }

    static func load(_ db: any Database, projectID: Int) throws -> Loaded {
        var unitIndex: [Int64: Int] = [:]
        var units: [UnitFacts] = []
        var tokenIDs: [String: Int] = [:]
        let pairs = try db.statement(
            "SELECT id, length(response_a), length(response_b), gold, prompt FROM visible_pairs WHERE project_id = ? ORDER BY id")
        try pairs.bind([.int(Int64(projectID))])
        var promptGroups: [Int: [Int64]] = [:]
        try pairs.forEach { row in
            unitIndex[row.int64(0)] = units.count
            let gold = row.optionalString(3).flatMap { Choice(rawValue: $0)?.category }
            let promptText = row.string(4)
            promptGroups[promptText.hashValue, default: []].append(row.int64(0))
            let tokens = Set(Tokens.words(promptText).map { word in
                tokenIDs[word] ?? {
                    tokenIDs[word] = tokenIDs.count
                    return tokenIDs.count - 1
                }()
            })
            units.append(UnitFacts(lengthA: row.int(1), lengthB: row.int(2), gold: gold, tokens: tokens.sorted()))
        }
        _ = try db.query("SELECT pair_id, p_a FROM reward_predictions WHERE project_id = ?", [.int(Int64(projectID))]) { row in
            if let unit = unitIndex[row.int64(0)] { units[unit].modelPreferenceA = row.double(1) }
        }
        // Prompts with several pairs (multi-response imports): number the prompt and
        // its responses, for the intransitive-cycle signal.
        let shared = try db.statement("SELECT id, prompt, response_a, response_b FROM pairs WHERE id = ?")
        var promptIDs: [String: Int] = [:]
        var responseIDs: [String: Int] = [:]
        for pairID in promptGroups.values.filter({ $0.count >= 3 }).joined() {
            try shared.bind([.int(pairID)])
            guard let row = try shared.first({ (id: $0.int64(0), prompt: $0.string(1), a: $0.string(2), b: $0.string(3)) }),
                  let unit = unitIndex[row.id]
            else { continue }
            let prompt = promptIDs[row.prompt] ?? {
                promptIDs[row.prompt] = promptIDs.count
                return promptIDs.count - 1
            }()
            func id(_ text: String) -> Int {
                let key = "\(prompt)\u{0}" + text
                if let known = responseIDs[key] { return known }
                responseIDs[key] = responseIDs.count
                return responseIDs.count - 1
            }
            units[unit].responses = (prompt, id(row.a), id(row.b))
        }
        var raterIndex: [Int: Int] = [:]
        var raterNames: [String] = []
        var judgements: [RatedJudgement] = []
        var previous: (pair: Int64, user: Int) = (-1, -1)
        let rows = try db.statement(
            """
            SELECT n.pair_id, n.user_id, n.choice, n.shown_swapped, n.duration_ms
            FROM annotations n
            WHERE n.project_id = ? ORDER BY n.pair_id, n.user_id, n.id
            """)
        try rows.bind([.int(Int64(projectID))])
        var usernames: [Int: String] = [:]
        _ = try db.query("SELECT id, username FROM users") { usernames[$0.int(0)] = $0.string(1) }
        try rows.forEach { row in
            let pair = row.int64(0)
            let user = row.int(1)
            guard let unit = unitIndex[pair] else { return }
            let isRepeat = pair == previous.pair && user == previous.user
            previous = (pair, user)
            let rater = raterIndex[user] ?? {
                raterIndex[user] = raterNames.count
                raterNames.append(usernames[user] ?? "#\(user)")
                return raterNames.count - 1
            }()
            let category = Choice.category(stored: row.string(2))
            judgements.append(RatedJudgement(
                unit: unit, rater: rater, category: category, shownSwapped: row.isNull(3) ? nil : row.bool(3),
                durationMilliseconds: row.optionalInt(4), isRepeat: isRepeat))
        }
        var durations = Array(repeating: [Double](), count: raterNames.count)
        for judgement in judgements where !judgement.isRepeat {
            if let duration = judgement.durationMilliseconds { durations[judgement.rater].append(Double(duration)) }
        }
        let tokenNames = Dictionary(uniqueKeysWithValues: tokenIDs.map { ($1, $0) })
        let (assessments, crowd) = RaterQuality.assessCrowd(judgements, units: units, raters: raterNames.count, tokenNames: tokenNames)
        var userIDList = [Int](repeating: 0, count: raterNames.count)
        for (user, index) in raterIndex { userIDList[index] = user }
        return Loaded(assessments: assessments, crowd: crowd, raterNames: raterNames, userIDs: userIDList,
                      tokenNames: tokenNames, durations: durations)
    }
}

/// Rater quality of a project: per rater, every signal's numbers, the reasons
/// that flagged them, their status and a 0–1 suspicion.
public struct RaterReport: Sendable {
    /// One rater.
    public struct Entry: Sendable {
        public var userID: Int
        public var annotator: String
        public var annotations: Int
        /// `ok`, `flagged`, or an admin's decision (`quarantined`, `cleared`).
        public var status: String
        /// The admin's reason for the decision, if any.
        public var comment: String?
        public var suspicion: Double
        public var medianDurationMilliseconds: Double?
        public var reasons: [(signal: String, detail: String)]
        /// Signal name → its numbers (rate, n, p, adjusted p, ...).
        public var signals: [String: [String: Double]]
        /// Posterior probability of being honest under the crowd model.
        public var honestProbability: Double?
        /// False: "not enough evidence yet".
        public var enoughEvidence: Bool
    }

    /// Most suspicious first.
    public var raters: [Entry]
    /// Words by id (the trigger and content signals' `token` numbers name one).
    public var tokenNames: [Int: String]
    /// The crowd model behind the decisions.
    public var crowd: RaterQuality.CrowdSummary
}

/// Lower-cased words of a prompt, for the trigger enrichment test.
enum Tokens {
    /// Words of at least two bytes: runs of ASCII letters and digits (lower-cased)
    /// and of non-ASCII bytes (letters of other scripts), read straight off UTF-8.
    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current: [UInt8] = []
        func flush() {
            if current.count >= 2, let word = String(validating: current, as: UTF8.self) { words.append(word) }
            current.removeAll(keepingCapacity: true)
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), 0x80...0xFF: current.append(byte)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): current.append(byte | 0x20)
            default: flush()
            }
        }
        flush()
        return words
    }
}
