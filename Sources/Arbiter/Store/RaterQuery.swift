public import Agreement
public import Storage

/// Rater quality and poisoning signals over a project's stored judgements.
public enum RaterQuery {
    /// The users the detector flags in a project and no admin decided on (cleared
    /// or quarantined), with why (for exports' default exclusions).
    public static func flaggedUsers(_ db: any Database, projectID: Int) throws -> [Int: RaterFinding] {
        try flaggedRaters(db, projectID: projectID).mapValues(\.finding)
    }

    /// ``flaggedUsers(_:projectID:)``, and whether each is flagged only on how
    /// often they are right (``RaterAssessment/flaggedOnAccuracy``).
    public static func flaggedRaters(_ db: any Database, projectID: Int) throws -> [Int: (finding: RaterFinding, onAccuracy: Bool)] {
        let loaded = try load(db, projectID: projectID)
        let decisions = try RaterStatus.all(db, projectID: projectID)
        var flagged: [Int: (finding: RaterFinding, onAccuracy: Bool)] = [:]
        for assessment in loaded.assessments where assessment.flagged {
            let user = loaded.userIDs[assessment.rater]
            if decisions[user] == nil { flagged[user] = (assessment.finding ?? .malicious, assessment.flaggedOnAccuracy) }
        }
        return flagged
    }

    /// Everything the signals were computed from, and the assessments.
    struct Loaded {
        var assessments: [RaterAssessment]
        var crowd: RaterQuality.CrowdSummary
        var raterNames: [String]
        var userIDs: [Int]
        var tokenNames: [Int: String]
        var durations: [[Double]]
        /// What the assessments were computed from (for judges, measured against the same crowd).
        var judgements: [RatedJudgement] = []
        var units: [UnitFacts] = []
        var unitIndex: [Int64: Int] = [:]
        var tokenIDs: [String: Int] = [:]
    }

    /// Every rater of the project, most suspicious first.
    public static func report(_ db: any Database, projectID: Int) throws -> RaterReport {
        let loaded = try load(db, projectID: projectID)
        let decisions = try RaterStatus.all(db, projectID: projectID)
        let gold = try goldCounts(db, projectID: projectID)
        let entries = loaded.assessments.sorted { ($0.suspicion, $0.judgements) > ($1.suspicion, $1.judgements) }.map { assessment in
            let userID = loaded.userIDs[assessment.rater]
            let decision = decisions[userID]
            let durations = loaded.durations[assessment.rater]
            return RaterReport.Entry(
                userID: userID, annotator: loaded.raterNames[assessment.rater], annotations: assessment.judgements,
                status: decision?.status ?? (assessment.flagged ? "flagged" : "ok"), comment: decision?.comment,
                suspicion: assessment.suspicion, medianDurationMilliseconds: durations.isEmpty ? nil : Statistics.median(durations),
                reasons: assessment.reasons, signals: assessment.signals, honestProbability: assessment.honestProbability,
                enoughEvidence: assessment.enoughEvidence, finding: assessment.finding, gold: gold[userID] ?? (0, 0))
        }
        let judges = try judgeEntries(db, projectID: projectID, loaded: loaded)
        return RaterReport(raters: entries + judges, tokenNames: loaded.tokenNames, crowd: loaded.crowd)
    }

    /// Each rater's gold judgements (the first on each gold pair) and how many are right.
    static func goldCounts(_ db: any Database, projectID: Int) throws -> [Int: (right: Int, judged: Int)] {
        var counts: [Int: (right: Int, judged: Int)] = [:]
        _ = try db.query(
            """
            SELECT n.user_id, count(*), sum(CASE WHEN n.choice = p.gold THEN 1 ELSE 0 END)
            FROM annotations n JOIN visible_pairs p ON p.id = n.pair_id
            WHERE n.project_id = ? AND p.gold IS NOT NULL AND n.kind != 'repeat'
              AND n.id = (SELECT min(f.id) FROM annotations f WHERE f.pair_id = n.pair_id AND f.user_id = n.user_id AND f.kind != 'repeat')
            GROUP BY n.user_id
            """, [.int(Int64(projectID))]
        ) { row in counts[row.int(0)] = (row.int(2), row.int(1)) }
        return counts
    }

    static func load(_ db: any Database, projectID: Int) throws -> Loaded {
        if let project = try Projects.find(db, id: projectID), project.settings.kind != .pairwise {
            return try loadTasks(db, project: project)
        }
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
            let tokens = Set(
                Tokens.words(promptText).map { word in
                    tokenIDs[word]
                        ?? {
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
            let prompt =
                promptIDs[row.prompt]
                ?? {
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
            let rater =
                raterIndex[user]
                ?? {
                    raterIndex[user] = raterNames.count
                    raterNames.append(usernames[user] ?? "#\(user)")
                    return raterNames.count - 1
                }()
            let category = Choice.category(stored: row.string(2))
            judgements.append(
                RatedJudgement(
                    unit: unit, rater: rater, category: category, shownSwapped: row.isNull(3) ? nil : row.bool(3),
                    durationMilliseconds: row.optionalInt(4), isRepeat: isRepeat))
        }
        try responseWords(db, projectID: projectID, unitIndex: unitIndex, units: &units, tokenIDs: &tokenIDs)
        var loaded = assess(judgements, units: units, raterNames: raterNames, raterIndex: raterIndex, tokenIDs: tokenIDs)
        loaded.unitIndex = unitIndex
        return loaded
    }

    /// The words found in one response only, for the content signal — read for
    /// the pairs at least two raters chose a side on, the only ones where one
    /// rater's choice can be read against the others' lean (the signal counts
    /// nothing else: on a pair nobody else judged, a word marking the better
    /// response looks exactly like a favoured entity). Streamed: only word ids stay.
    static func responseWords(
        _ db: any Database, projectID: Int, unitIndex: [Int64: Int], units: inout [UnitFacts], tokenIDs: inout [String: Int]
    ) throws {
        let scan = try db.statement(
            """
            SELECT p.id, p.response_a, p.response_b FROM visible_pairs p
            WHERE p.project_id = ? AND p.id IN (
                SELECT pair_id FROM annotations WHERE project_id = ? AND kind = 'normal' AND choice IN ('A', 'B')
                GROUP BY pair_id HAVING count(DISTINCT user_id) >= 2)
            """)
        try scan.bind([.int(Int64(projectID)), .int(Int64(projectID))])
        func ids(_ text: String) -> Set<Int> {
            Set(
                Tokens.words(text).map { word in
                    tokenIDs[word]
                        ?? {
                            tokenIDs[word] = tokenIDs.count
                            return tokenIDs.count - 1
                        }()
                })
        }
        try scan.forEach { row in
            guard let unit = unitIndex[row.int64(0)] else { return }
            let a = ids(row.string(1)), b = ids(row.string(2))
            units[unit].tokensOnlyA = a.subtracting(b).sorted()
            units[unit].tokensOnlyB = b.subtracting(a).sorted()
        }
    }

    /// Runs the signals and the crowd model over judgements already read.
    static func assess(
        _ judgements: [RatedJudgement], units: [UnitFacts], raterNames: [String], raterIndex: [Int: Int], tokenIDs: [String: Int]
    ) -> Loaded {
        var durations = Array(repeating: [Double](), count: raterNames.count)
        for judgement in judgements where !judgement.isRepeat {
            if let duration = judgement.durationMilliseconds { durations[judgement.rater].append(Double(duration)) }
        }
        let tokenNames = Dictionary(uniqueKeysWithValues: tokenIDs.map { ($1, $0) })
        let (assessments, crowd) = RaterQuality.assessCrowd(judgements, units: units, raters: raterNames.count, tokenNames: tokenNames)
        var userIDList = [Int](repeating: 0, count: raterNames.count)
        for (user, index) in raterIndex { userIDList[index] = user }
        return Loaded(
            assessments: assessments, crowd: crowd, raterNames: raterNames, userIDs: userIDList,
            tokenNames: tokenNames, durations: durations, judgements: judgements, units: units, tokenIDs: tokenIDs)
    }
}

extension RaterQuery {
    /// A ranking or rating project: every signal reads each judgement's implied
    /// pairs — responses i < j of a task form a unit, the judgement's order (or
    /// mean scores) says A, B or tie, and "shown swapped" (on the pair of the
    /// responses shown first and second only) means j was shown before i — so consensus, position bias by displayed order, gold-free agreement,
    /// repeats, collusion and prompt triggers all cover the new kinds. A
    /// judgement's time counts once (on its first implied pair).
    static func loadTasks(_ db: any Database, project: Project) throws -> Loaded {
        let projectID = SQLValue.int(Int64(project.id))
        var tokenIDs: [String: Int] = [:]
        var units: [UnitFacts] = []
        // Task row id → its first unit and response count.
        var taskUnits: [Int64: (first: Int, count: Int)] = [:]
        _ = try db.query(
            "SELECT id, prompt, responses, response_a, response_b FROM visible_pairs WHERE project_id = ? ORDER BY id", [projectID]
        ) { row in
            let responses = StoredResponses.parse(row.optionalString(2)) ?? [row.string(3), row.string(4)]
            let tokens = Set(
                Tokens.words(row.string(1)).map { word in
                    tokenIDs[word]
                        ?? {
                            tokenIDs[word] = tokenIDs.count
                            return tokenIDs.count - 1
                        }()
                }
            ).sorted()
            taskUnits[row.int64(0)] = (units.count, responses.count)
            for i in responses.indices {
                for j in responses.indices where j > i {
                    units.append(UnitFacts(lengthA: responses[i].utf8.count, lengthB: responses[j].utf8.count, tokens: tokens))
                }
            }
        }
        var raterIndex: [Int: Int] = [:]
        var raterNames: [String] = []
        var usernames: [Int: String] = [:]
        _ = try db.query("SELECT id, username FROM users") { usernames[$0.int(0)] = $0.string(1) }
        var judgements: [RatedJudgement] = []
        var previous: (pair: Int64, user: Int) = (-1, -1)
        let attributes = project.settings.attributes
        let rows = try db.statement(
            "SELECT pair_id, user_id, ranking, ratings, shown_order, duration_ms FROM annotations WHERE project_id = ? ORDER BY pair_id, user_id, id"
        )
        try rows.bind([projectID])
        try rows.forEach { row in
            let pair = row.int64(0)
            let user = row.int(1)
            guard let task = taskUnits[pair] else { return }
            let isRepeat = pair == previous.pair && user == previous.user
            previous = (pair, user)
            let count = task.count
            guard
                let implied = ImpliedComparison(
                    storedRanking: row.optionalString(2), storedRatings: row.optionalString(3), count: count, attributes: attributes)?
                    .choice
            else { return }
            let rater =
                raterIndex[user]
                ?? {
                    raterIndex[user] = raterNames.count
                    raterNames.append(usernames[user] ?? "#\(user)")
                    return raterNames.count - 1
                }()
            var position = Array(0..<count)
            if let order = IndexList.parse(row.optionalString(4)), order.count == count {
                for (shown, index) in order.enumerated() where index < count { position[index] = shown }
            }
            var unit = task.first
            var duration = row.optionalInt(5)
            for i in 0..<count {
                for j in (i + 1)..<count {
                    // Position: only the two responses shown first and second — one
                    // draw per judgement (a ranking's implied pairs are not independent
                    // draws, and counting them all flags honest raters by chance).
                    let firstTwo = Set([position[i], position[j]]) == [0, 1]
                    judgements.append(
                        RatedJudgement(
                            unit: unit, rater: rater, category: implied(i, j).category,
                            shownSwapped: row.isNull(4) || !firstTwo ? nil : position[j] < position[i], durationMilliseconds: duration,
                            isRepeat: isRepeat))
                    duration = nil
                    unit += 1
                }
            }
        }
        return assess(judgements, units: units, raterNames: raterNames, raterIndex: raterIndex, tokenIDs: tokenIDs)
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
        /// Why the detector flagged them (`unreliable` or `malicious`), nil when it did not.
        /// Kept when an admin decided (quarantined, cleared): it is what the detector said.
        public var finding: RaterFinding?
        /// Gold pairs judged (first judgements) and how many of them right; the gold
        /// signal reads them from 5 on, the page shows fewer as counts.
        public var gold: (right: Int, judged: Int) = (0, 0)
        /// A person, or a model judge (`judge:NAME`, measured against the people).
        public var kind = Kind.person
        /// Flagged only on how often they are right (``RaterAssessment/flaggedOnAccuracy``):
        /// a weighted aggregation can read their votes for what they are worth.
        public var flaggedOnAccuracy = false

        public enum Kind: String, Sendable {
            case person, judge
        }
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
