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

        var json: JSONValue {
            [
                "id": .int(id), "pair": .string(pair), "prompt": prompt.json, "response_a": .string(responseA), "response_b": .string(responseB),
                "kind": .string(kind), "choice": .string(choice), "duration_ms": JSONValue(durationMilliseconds),
                "created_at": .string(createdAt), "consensus": consensus.map(JSONValue.string) ?? .null,
                "others": ["A": .int(Int64(othersA)), "B": .int(Int64(othersB))], "departs": departs.map(JSONValue.bool) ?? .null,
            ]
        }
    }

    /// The rater's judgements in id order after `after`, at most `limit`.
    static func list(_ db: any Database, projectID: Int, userID: Int, after: Int64, limit: Int) throws -> [Item] {
        try db.query(
            """
            SELECT n.id, p.external_id, p.prompt, p.prompt_is_messages, p.response_a, p.response_b, n.kind, n.choice, n.duration_ms, n.created_at,
                   (SELECT count(*) FROM annotations o WHERE o.pair_id = n.pair_id AND o.user_id <> n.user_id AND o.kind = 'normal' AND o.choice = 'A'),
                   (SELECT count(*) FROM annotations o WHERE o.pair_id = n.pair_id AND o.user_id <> n.user_id AND o.kind = 'normal' AND o.choice = 'B')
            FROM annotations n JOIN pairs p ON p.id = n.pair_id
            WHERE n.project_id = ? AND n.user_id = ? AND n.id > ?
            ORDER BY n.id LIMIT ?
            """, [.int(Int64(projectID)), .int(Int64(userID)), .int(after), .int(Int64(limit))]) { row in
            Item(id: row.int64(0), pair: row.string(1), prompt: Prompt.stored(row.string(2), isMessages: row.bool(3)), responseA: row.string(4),
                 responseB: row.string(5), kind: row.string(6), choice: row.string(7), durationMilliseconds: row.optionalInt(8),
                 createdAt: row.string(9), othersA: row.int(10), othersB: row.int(11))
        }
    }
}
