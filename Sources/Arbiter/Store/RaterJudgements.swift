import JSON
import Storage

/// One rater's judgements in a project with the pair and what the other raters
/// said of it (the reviewer's drill-down).
enum RaterJudgements {
    struct Item: Sendable {
        var id: Int64
        var pair: String
        var prompt: Prompt
        var responseA: String
        var responseB: String
        var kind: String
        var choice: String
        var durationMilliseconds: Int?
        var createdAt: String
        var shownSwapped: Bool?
        var gold: String?
        /// The other raters' decisive votes on the pair.
        var othersA: Int
        var othersB: Int

        /// The other raters' plurality (A or B), nil without one.
        var consensus: String? { othersA == othersB ? nil : othersA > othersB ? "A" : "B" }
        /// Whether this judgement departs from that consensus (nil: no consensus, or not decisive).
        var departs: Bool? {
            guard let consensus, choice == "A" || choice == "B" else { return nil }
            return choice != consensus
        }

        /// The rater-quality signals this judgement is evidence for: agreement with
        /// the others (`consensus`), `gold` accuracy, `self_consistency` (a repeat),
        /// `position` (which side was picked as shown) and `speed`.
        var signals: [String] {
            var names: [String] = []
            let decisive = choice == "A" || choice == "B"
            if kind == "normal" && consensus != nil && decisive { names.append("consensus") }
            if kind == "gold" && gold != nil { names.append("gold") }
            if kind == "repeat" { names.append("self_consistency") }
            if shownSwapped != nil && decisive { names.append("position") }
            if durationMilliseconds != nil { names.append("speed") }
            return names
        }

        /// The side picked as the rater saw it (nil: not decisive, or the side is unknown).
        var pickedSide: String? {
            guard let shownSwapped, choice == "A" || choice == "B" else { return nil }
            return (choice == "A") != shownSwapped ? "left" : "right"
        }

    }

    /// The rater's judgements in id order after `after`, at most `limit`.
    static func list(_ db: any Database, projectID: Int, userID: Int, after: Int64, limit: Int) throws -> [Item] {
        try db.query(
            """
            SELECT n.id, p.external_id, p.prompt, p.prompt_is_messages, p.response_a, p.response_b, n.kind, n.choice, n.duration_ms, n.created_at, n.shown_swapped, p.gold,
                   (SELECT count(*) FROM annotations o WHERE o.pair_id = n.pair_id AND o.user_id <> n.user_id AND o.kind = 'normal' AND o.choice = 'A'),
                   (SELECT count(*) FROM annotations o WHERE o.pair_id = n.pair_id AND o.user_id <> n.user_id AND o.kind = 'normal' AND o.choice = 'B')
            FROM annotations n JOIN pairs p ON p.id = n.pair_id
            WHERE n.project_id = ? AND n.user_id = ? AND n.id > ?
            ORDER BY n.id LIMIT ?
            """, [.int(Int64(projectID)), .int(Int64(userID)), .int(after), .int(Int64(limit))]
        ) { row in
            Item(
                id: row.int64(0), pair: row.string(1), prompt: Prompt.stored(row.string(2), isMessages: row.bool(3)),
                responseA: row.string(4),
                responseB: row.string(5), kind: row.string(6), choice: row.string(7), durationMilliseconds: row.optionalInt(8),
                createdAt: row.string(9), shownSwapped: row.isNull(10) ? nil : row.bool(10), gold: row.optionalString(11),
                othersA: row.int(12), othersB: row.int(13))
        }
    }
}
