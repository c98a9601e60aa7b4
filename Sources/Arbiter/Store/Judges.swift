import Glibc
public import Storage
import Agreement

/// A model judge of a project, with what its runs did and cost.
public struct Judge: Sendable, Equatable {
    public var id: Int64
    public var projectID: Int
    public var name: String
    /// The endpoint's name in the server's endpoints file.
    public var endpoint: String
    public var template: String
    /// `idle`, `running` or `failed` (the last run stopped on an error: `lastError`).
    public var state: String
    public var lastError: String
    public var requests = 0
    public var failedRequests = 0
    public var promptTokens = 0
    public var completionTokens = 0
    public var createdAt: Int64
    /// Adaptive overlap (projects that count judges): the accuracy estimated with
    /// the people's, and whether the judge's verdicts count towards settling pairs.
    public var estimatedAccuracy: Double?
    public var countedInOverlap = false
    /// Pairs with a verdict, and those of them whose answers could not be read.
    public var verdicts = 0
    public var unreadable = 0

    /// The rater name it goes by: the colon is not allowed in usernames, so no
    /// person can pass for a judge.
    public var raterName: String { "judge:" + name }
}

/// A pair as a judge is asked about it.
public struct JudgedPair: Sendable {
    public var id: Int64
    public var prompt: Prompt
    public var responseA: String
    public var responseB: String
}

/// A stored verdict, for rater quality, exports and the judge's drill-down.
public struct StoredVerdict: Sendable {
    public var judgeID: Int64
    public var pairID: Int64
    public var firstSwapped: Bool
    public var firstAnswer: Choice?
    public var secondAnswer: Choice?
    public var choice: Choice?
}

/// `judges` and `judge_verdicts` (migration 0025).
public enum Judges {
    static let columns = """
        j.id, j.project_id, j.name, j.endpoint, j.template, j.state, j.last_error, j.requests, j.failed_requests,
        j.prompt_tokens, j.completion_tokens, j.created_at, j.accuracy, j.counted,
        (SELECT count(*) FROM judge_verdicts v WHERE v.judge_id = j.id),
        (SELECT count(*) FROM judge_verdicts v WHERE v.judge_id = j.id AND v.choice IS NULL)
        """

    static func decode(_ row: any Row) -> Judge {
        Judge(
            id: row.int64(0), projectID: row.int(1), name: row.string(2), endpoint: row.string(3), template: row.string(4),
            state: row.string(5), lastError: row.string(6), requests: row.int(7), failedRequests: row.int(8),
            promptTokens: row.int(9), completionTokens: row.int(10), createdAt: row.int64(11),
            estimatedAccuracy: row.optionalDouble(12), countedInOverlap: row.bool(13), verdicts: row.int(14), unreadable: row.int(15))
    }

    /// Adds a judge; a name the project already has is a ``ValidationError``.
    public static func create(
        _ db: any Database, projectID: Int, name: String, endpoint: String, template: String, createdBy: Int?, now: Int64
    ) throws -> Int64 {
        do {
            return try db.insert(
                "INSERT INTO judges (project_id, name, endpoint, template, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [.int(Int64(projectID)), .text(name), .text(endpoint), .text(template), SQLValue(createdBy), .int(now)])
        } catch {
            throw error.isUniqueViolation ? ValidationError("name: the project already has a judge named '\(name)'") : error
        }
    }

    /// The project's judges, oldest first.
    public static func list(_ db: any Database, projectID: Int) throws -> [Judge] {
        try db.query("SELECT \(columns) FROM judges j WHERE j.project_id = ? ORDER BY j.id", [.int(Int64(projectID))], decode)
    }

    public static func find(_ db: any Database, projectID: Int, name: String) throws -> Judge? {
        try db.queryFirst(
            "SELECT \(columns) FROM judges j WHERE j.project_id = ? AND j.name = ?", [.int(Int64(projectID)), .text(name)], decode)
    }

    public static func find(_ db: any Database, id: Int64) throws -> Judge? {
        try db.queryFirst("SELECT \(columns) FROM judges j WHERE j.id = ?", [.int(id)], decode)
    }

    /// Removes a judge and its verdicts.
    public static func remove(_ db: any Database, id: Int64) throws {
        try db.run("DELETE FROM judge_verdicts WHERE judge_id = ?", [.int(id)])
        try db.run("DELETE FROM judges WHERE id = ?", [.int(id)])
    }

    /// A running judge whose node has not written for this long is taken to be stopped.
    public static let staleAfterMilliseconds: Int64 = 120_000

    /// Marks a run started, unless a live one is (false: it is running already).
    public static func claimRun(_ db: any Database, id: Int64, now: Int64) throws -> Bool {
        try db.run(
            "UPDATE judges SET state = 'running', last_error = '', heartbeat_at = ? WHERE id = ? AND (state <> 'running' OR heartbeat_at < ?)",
            [.int(now), .int(id), .int(now - staleAfterMilliseconds)]) == 1
    }

    /// When a running judge's node last wrote (0: never).
    public static func heartbeat(_ db: any Database, id: Int64) throws -> Int64 {
        try db.queryFirst("SELECT heartbeat_at FROM judges WHERE id = ?", [.int(id)]) { $0.int64(0) } ?? 0
    }

    /// A running judge's sign of life.
    public static func heartbeat(_ db: any Database, id: Int64, now: Int64) throws {
        try db.run("UPDATE judges SET heartbeat_at = ? WHERE id = ?", [.int(now), .int(id)])
    }

    /// Ends a run: `idle`, or `failed` with why.
    public static func finishRun(_ db: any Database, id: Int64, error: String?) throws {
        try db.run(
            "UPDATE judges SET state = ?, last_error = ? WHERE id = ?",
            [.text(error == nil ? "idle" : "failed"), .text(error ?? ""), .int(id)])
    }

    /// Up to `limit` of the project's visible pairs after pair id `after` the judge
    /// has no verdict on, in id order.
    public static func pending(_ db: any Database, judge: Judge, after: Int64, limit: Int) throws -> [JudgedPair] {
        try db.query(
            """
            SELECT p.id, p.prompt, p.prompt_is_messages, p.response_a, p.response_b FROM visible_pairs p
            WHERE p.project_id = ? AND p.id > ? AND NOT EXISTS (SELECT 1 FROM judge_verdicts v WHERE v.judge_id = ? AND v.pair_id = p.id)
            ORDER BY p.id LIMIT ?
            """, [.int(Int64(judge.projectID)), .int(after), .int(judge.id), .int(Int64(limit))]
        ) { row in
            JudgedPair(
                id: row.int64(0), prompt: Prompt.stored(row.string(1), isMessages: row.bool(2)), responseA: row.string(3),
                responseB: row.string(4))
        }
    }

    /// Pairs of the project the judge has not judged.
    public static func pendingCount(_ db: any Database, judge: Judge) throws -> Int {
        try db.queryFirst(
            """
            SELECT count(*) FROM visible_pairs p
            WHERE p.project_id = ? AND NOT EXISTS (SELECT 1 FROM judge_verdicts v WHERE v.judge_id = ? AND v.pair_id = p.id)
            """, [.int(Int64(judge.projectID)), .int(judge.id)]
        ) { $0.int(0) } ?? 0
    }

    /// Stores verdicts (a pair already judged keeps its first verdict) and adds a
    /// batch's cost to the judge's, in the caller's transaction.
    public static func record(
        _ db: any Database, judgeID: Int64, _ verdicts: [JudgeVerdict], requests: Int, failedRequests: Int, now: Int64
    ) throws {
        let insert = try db.statement(
            """
            INSERT INTO judge_verdicts (judge_id, pair_id, first_swapped, first_answer, second_answer, choice, rationale,
                prompt_tokens, completion_tokens, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """)
        var promptTokens = 0
        var completionTokens = 0
        for verdict in verdicts {
            try insert.bind([
                .int(judgeID), .int(verdict.pairID), SQLValue(verdict.firstSwapped), SQLValue(verdict.firstAnswer?.rawValue),
                SQLValue(verdict.secondAnswer?.rawValue), SQLValue(verdict.choice?.rawValue), .text(verdict.rationale),
                .int(Int64(verdict.promptTokens)), .int(Int64(verdict.completionTokens)), .int(now),
            ])
            try insert.run()
            promptTokens += verdict.promptTokens
            completionTokens += verdict.completionTokens
        }
        try db.run(
            """
            UPDATE judges SET requests = requests + ?, failed_requests = failed_requests + ?,
                prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?
            WHERE id = ?
            """,
            [.int(Int64(requests)), .int(Int64(failedRequests)), .int(Int64(promptTokens)), .int(Int64(completionTokens)), .int(judgeID)])
    }

    /// Every verdict of the project's judges on its visible pairs, by judge then pair.
    public static func verdicts(_ db: any Database, projectID: Int) throws -> [StoredVerdict] {
        try db.query(
            """
            SELECT v.judge_id, v.pair_id, v.first_swapped, v.first_answer, v.second_answer, v.choice
            FROM judge_verdicts v JOIN judges j ON j.id = v.judge_id JOIN visible_pairs p ON p.id = v.pair_id
            WHERE j.project_id = ? ORDER BY v.judge_id, v.pair_id
            """, [.int(Int64(projectID))]
        ) { row in
            StoredVerdict(
                judgeID: row.int64(0), pairID: row.int64(1), firstSwapped: row.bool(2),
                firstAnswer: row.optionalString(3).flatMap(Choice.init(rawValue:)),
                secondAnswer: row.optionalString(4).flatMap(Choice.init(rawValue:)),
                choice: row.optionalString(5).flatMap(Choice.init(rawValue:)))
        }
    }

    /// One verdict with its pair, for the drill-down.
    public struct Listed: Sendable {
        public var pair: String
        public var firstSwapped: Bool
        public var firstAnswer: String?
        public var secondAnswer: String?
        public var choice: String?
        public var rationale: String
        public var gold: String?
    }

    /// A judge's verdicts in pair order after pair id `after`.
    public static func listVerdicts(_ db: any Database, judgeID: Int64, after: Int64, limit: Int) throws -> [(id: Int64, verdict: Listed)] {
        try db.query(
            """
            SELECT v.pair_id, p.external_id, v.first_swapped, v.first_answer, v.second_answer, v.choice, v.rationale, p.gold
            FROM judge_verdicts v JOIN pairs p ON p.id = v.pair_id
            WHERE v.judge_id = ? AND v.pair_id > ? ORDER BY v.pair_id LIMIT ?
            """, [.int(judgeID), .int(after), .int(Int64(limit))]
        ) { row in
            (
                row.int64(0),
                Listed(
                    pair: row.string(1), firstSwapped: row.bool(2), firstAnswer: row.optionalString(3), secondAnswer: row.optionalString(4),
                    choice: row.optionalString(5), rationale: row.string(6), gold: row.optionalString(7))
            )
        }
    }
}

extension Judges {
    /// What the judge–human table needs of a pair.
    public struct PairFacts: Sendable {
        public var pairID: Int64
        /// People's first judgements (quarantined raters left out), as 0 = A, 1 = B (decisive only).
        public var votes: [Int]
        public var gold: String?
        /// The pair's metadata (JSON text), for its `category`.
        public var metadata: String?
    }

    /// Every visible pair of the project that people or a judge judged.
    public static func pairFacts(_ db: any Database, projectID: Int) throws -> [PairFacts] {
        var facts: [Int64: PairFacts] = [:]
        var order: [Int64] = []
        _ = try db.query(
            """
            SELECT p.id, p.gold, p.metadata FROM visible_pairs p
            WHERE p.project_id = ? AND (EXISTS (SELECT 1 FROM annotations n WHERE n.pair_id = p.id)
                OR EXISTS (SELECT 1 FROM judge_verdicts v WHERE v.pair_id = p.id))
            ORDER BY p.id
            """, [.int(Int64(projectID))]
        ) { row in
            facts[row.int64(0)] = PairFacts(pairID: row.int64(0), votes: [], gold: row.optionalString(1), metadata: row.optionalString(2))
            order.append(row.int64(0))
        }
        _ = try db.query(
            """
            SELECT n.pair_id, n.choice FROM annotations n
            WHERE n.project_id = ? AND n.kind <> 'repeat' AND n.choice IN ('A', 'B')
              AND NOT EXISTS (SELECT 1 FROM rater_status s WHERE s.project_id = n.project_id AND s.user_id = n.user_id AND s.status = 'quarantined')
            """, [.int(Int64(projectID))]
        ) { row in facts[row.int64(0)]?.votes.append(row.string(1) == "A" ? 0 : 1) }
        return order.compactMap { facts[$0] }
    }
}

extension Judges {
    /// The fewest pairs shared with people before a judge's verdicts count in adaptive overlap.
    public static let minimumShared = 30
    /// The lowest estimated accuracy at which they count: a judge barely better
    /// than a coin is noticed and left out rather than weighted a little.
    public static let minimumAccuracy = 0.65

    /// The decisive verdicts of the project's judges on pairs people judged, as
    /// rater rows for the accuracy estimate (`user` is −judge id).
    static func estimationRows(_ db: any Database, projectID: Int) throws -> [(pair: Int64, user: Int, choseA: Bool)] {
        try db.query(
            """
            SELECT v.pair_id, v.judge_id, v.choice FROM judge_verdicts v JOIN judges j ON j.id = v.judge_id JOIN pairs p ON p.id = v.pair_id
            WHERE j.project_id = ? AND p.gold IS NULL AND p.active_count >= 1 AND v.choice IN ('A', 'B') ORDER BY v.pair_id
            """, [.int(Int64(projectID))]
        ) { ($0.int64(0), -$0.int(1), $0.string(2) == "A") }
    }

    /// Stores each judge's estimate (keyed by −judge id) and whether it counts.
    static func storeAccuracies(_ db: any Database, projectID: Int, _ weights: [Int: PairDemand.RaterWeight]) throws {
        try db.run(
            "UPDATE judges SET accuracy = NULL, pick_a = NULL, pick_b = NULL, shared = 0, counted = 0 WHERE project_id = ?",
            [.int(Int64(projectID))])
        let update = try db.statement("UPDATE judges SET accuracy = ?, pick_a = ?, pick_b = ?, shared = ?, counted = ? WHERE id = ?")
        for (key, weight) in weights where key < 0 {
            try update.bind([
                .double(weight.accuracy), SQLValue(weight.pickA), SQLValue(weight.pickB), .int(Int64(weight.shared)),
                SQLValue(weight.counted), .int(Int64(-key)),
            ])
            try update.run()
        }
    }

    /// The counted judges' votes on one pair (decisive or tie), for its stop rule.
    static func votes(_ db: any Database, pairID: Int64) throws -> [OverlapRule.Vote] {
        try db.query(
            """
            SELECT v.choice, j.accuracy, j.pick_a, j.pick_b FROM judge_verdicts v JOIN judges j ON j.id = v.judge_id
            WHERE v.pair_id = ? AND j.counted = 1 AND v.choice IS NOT NULL
            """, [.int(pairID)]
        ) { row in
            OverlapRule.Vote(
                choice: PairDemand.decisive(row.string(0)), accuracy: row.optionalDouble(1) ?? OverlapRule.priorAccuracy,
                pickA: row.optionalDouble(2), pickB: row.optionalDouble(3))
        }
    }

    /// The same for every pair of the project.
    static func votesByPair(_ db: any Database, projectID: Int) throws -> [Int64: [OverlapRule.Vote]] {
        var votes: [Int64: [OverlapRule.Vote]] = [:]
        _ = try db.query(
            """
            SELECT v.pair_id, v.choice, j.accuracy, j.pick_a, j.pick_b FROM judge_verdicts v JOIN judges j ON j.id = v.judge_id
            WHERE j.project_id = ? AND j.counted = 1 AND v.choice IS NOT NULL
            """, [.int(Int64(projectID))]
        ) { row in
            votes[row.int64(0), default: []].append(
                OverlapRule.Vote(
                    choice: PairDemand.decisive(row.string(1)), accuracy: row.optionalDouble(2) ?? OverlapRule.priorAccuracy,
                    pickA: row.optionalDouble(3), pickB: row.optionalDouble(4)))
        }
        return votes
    }
}

extension Judges {
    /// Orders the project's untouched pairs for `next` by how sure its judges are:
    /// the pairs they split on or are unsure of first (priority σ(|log-odds|) − ½,
    /// lowest first), those they agree on confidently last. Judges estimated too
    /// poor to count are left out; those not estimated yet count at the prior
    /// accuracy. Pairs no judge answered keep priority 0 (first, by id).
    /// Returns how many pairs changed.
    @discardableResult
    static func prioritise(_ db: any Database, projectID: Int) throws -> Int {
        var logOdds: [Int64: Double] = [:]
        _ = try db.query(
            """
            SELECT v.pair_id, v.choice, j.accuracy, j.pick_a, j.pick_b FROM judge_verdicts v
            JOIN judges j ON j.id = v.judge_id JOIN pairs p ON p.id = v.pair_id
            WHERE j.project_id = ? AND (j.counted = 1 OR j.shared < ?) AND v.choice IS NOT NULL AND p.active_count = 0
            """, [.int(Int64(projectID)), .int(Int64(minimumShared))]
        ) { row in
            let vote = OverlapRule.Vote(
                choice: PairDemand.decisive(row.string(1)), accuracy: row.optionalDouble(2) ?? OverlapRule.priorAccuracy,
                pickA: row.optionalDouble(3), pickB: row.optionalDouble(4))
            logOdds[row.int64(0), default: 0] += vote.push
        }
        let update = try db.statement("UPDATE pairs SET priority = ? WHERE id = ? AND priority <> ?")
        var changed = 0
        for (pair, odds) in logOdds {
            let priority = 1 / (1 + exp(-abs(odds))) - 0.5
            try update.bind([.double(priority), .int(pair), .double(priority)])
            changed += try update.run()
        }
        return changed
    }
}
