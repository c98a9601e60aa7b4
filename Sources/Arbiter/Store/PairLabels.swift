import JSON
import Storage

/// One pair as a reviewer opens it: texts, every judgement with its rater, its
/// reports and its final label.
enum PairDetail {
    struct Judgement: Sendable {
        var id: Int64
        var rater: String
        var raterStatus: String?
        var kind: String
        var choice: String
        var strength: Int?
        var aspects: String?
        var rationale: String?
        var shownSwapped: Bool?
        var durationMilliseconds: Int?
        var createdAt: String
        /// A task's whole judgement (canonical indices) and a rewrite, as stored.
        var ranking: String? = nil
        var ratings: String? = nil
        var rewrite: Rewrite? = nil

    }

    struct Report: Sendable {
        var id: Int64
        var reporter: String
        var reason: String
        var createdAt: Int64
        var resolved: Bool

    }

    struct Pair: Sendable {
        var id: Int64
        var externalID: String
        var prompt: Prompt
        var responseA: String
        var responseB: String
        var modelA: String?
        var modelB: String?
        var metadata: String?
        var gold: String?
        var votes: [String: Int]
        var judgements: Int
        var wanted: Int
        var disagreement: Double
        /// A ranking or rating task's responses and their models (nil for a pair).
        var responses: [String]? = nil
        var models: JSONValue? = nil

        /// The crowd's plurality over all judgements (nil: none, or a tie at the top).
        var plurality: String? {
            let best = votes.values.max() ?? 0
            let leaders = votes.filter { $0.value == best }
            return best > 0 && leaders.count == 1 ? leaders.first!.key : nil
        }
    }

    /// A visible pair of the project by its external id.
    static func find(_ db: any Database, projectID: Int, externalID: String) throws -> Pair? {
        try db.queryFirst(
            """
            SELECT id, external_id, prompt, prompt_is_messages, response_a, response_b, model_a, model_b, metadata, gold,
                   votes_a, votes_b, votes_tie, votes_both_bad, judgements, wanted, disagreement, responses, models
            FROM visible_pairs WHERE project_id = ? AND external_id = ?
            """, [.int(Int64(projectID)), .text(externalID)]
        ) { row in
            Pair(
                id: row.int64(0), externalID: row.string(1), prompt: Prompt.stored(row.string(2), isMessages: row.bool(3)),
                responseA: row.string(4), responseB: row.string(5), modelA: row.optionalString(6), modelB: row.optionalString(7),
                metadata: row.optionalString(8), gold: row.optionalString(9),
                votes: ["A": row.int(10), "B": row.int(11), "tie": row.int(12), "both_bad": row.int(13)], judgements: row.int(14),
                wanted: row.int(15), disagreement: row.double(16), responses: StoredResponses.parse(row.optionalString(17)),
                models: row.optionalString(18).flatMap { try? JSONValue.parse($0) })
        }
    }

    static func judgements(_ db: any Database, pairID: Int64) throws -> [Judgement] {
        try db.query(
            """
            SELECT n.id, u.username, s.status, n.kind, n.choice, n.strength, n.aspects, n.rationale, n.shown_swapped, n.duration_ms, n.created_at,
                   n.ranking, n.ratings, n.rewrite, n.rewrite_base
            FROM annotations n JOIN users u ON u.id = n.user_id
            LEFT JOIN rater_status s ON s.project_id = n.project_id AND s.user_id = n.user_id
            WHERE n.pair_id = ? ORDER BY n.id
            """, [.int(pairID)]
        ) { row in
            Judgement(
                id: row.int64(0), rater: row.string(1), raterStatus: row.optionalString(2), kind: row.string(3), choice: row.string(4),
                strength: row.optionalInt(5), aspects: row.optionalString(6), rationale: row.optionalString(7),
                shownSwapped: row.isNull(8) ? nil : row.bool(8), durationMilliseconds: row.optionalInt(9), createdAt: row.string(10),
                ranking: row.optionalString(11), ratings: row.optionalString(12),
                rewrite: row.optionalString(13).map { Rewrite(base: row.optionalInt(14) ?? 0, text: $0) })
        }
    }

    static func reports(_ db: any Database, pairID: Int64) throws -> [Report] {
        try db.query(
            "SELECT r.id, u.username, r.reason, r.created_at, r.resolved_at FROM pair_reports r JOIN users u ON u.id = r.user_id WHERE r.pair_id = ? ORDER BY r.id",
            [.int(pairID)]
        ) { row in
            Report(id: row.int64(0), reporter: row.string(1), reason: row.string(2), createdAt: row.int64(3), resolved: !row.isNull(4))
        }
    }
}

/// Reviewers' final labels (migration 0015): apart from judgements, never in agreement.
enum PairLabels {
    struct Label: Sendable {
        var label: String
        var crowd: String?
        var note: String
        var reviewer: String?
        var createdAt: String

    }

    static func find(_ db: any Database, pairID: Int64) throws -> Label? {
        try db.queryFirst(
            "SELECT l.label, l.crowd, l.note, u.username, l.created_at FROM pair_labels l LEFT JOIN users u ON u.id = l.user_id WHERE l.pair_id = ?",
            [.int(pairID)]
        ) { row in
            Label(
                label: row.string(0), crowd: row.optionalString(1), note: row.string(2), reviewer: row.optionalString(3),
                createdAt: row.string(4))
        }
    }

    static func set(
        _ db: any Database, pairID: Int64, projectID: Int, label: String, crowd: String?, note: String, by user: Int, now: Int64
    ) throws {
        try db.run(
            """
            INSERT INTO pair_labels (pair_id, project_id, label, crowd, note, user_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (pair_id) DO UPDATE SET label = excluded.label, crowd = excluded.crowd, note = excluded.note,
                user_id = excluded.user_id, created_at = excluded.created_at
            """,
            [
                .int(pairID), .int(Int64(projectID)), .text(label), crowd.map(SQLValue.text) ?? .null, .text(note), .int(Int64(user)),
                .text(Clock.iso8601(milliseconds: now)),
            ])
    }

    /// Removes a pair's label; whether there was one.
    static func clear(_ db: any Database, pairID: Int64) throws -> Bool {
        try db.run("DELETE FROM pair_labels WHERE pair_id = ?", [.int(pairID)]) > 0
    }

    /// pair row id → label, for a project's export.
    static func all(_ db: any Database, projectID: Int) throws -> [Int64: String] {
        var labels: [Int64: String] = [:]
        _ = try db.query("SELECT pair_id, label FROM pair_labels WHERE project_id = ?", [.int(Int64(projectID))]) { row in
            labels[row.int64(0)] = row.string(1)
        }
        return labels
    }
}
