import Storage

extension ExportReads {
    /// A judgement of a task as the task exports read it.
    struct TaskJudgement {
        var pair: Int64
        var user: Int
        var ranking: Ranking?
        var ratings: Ratings?
        var rewrite: Rewrite?
    }

    /// The project's visible tasks in id order, with every response.
    static func tasks(_ db: any Database, projectID: Int, _ body: (Int64, String, Prompt, [String]) throws -> Void) throws {
        let rows = try db.statement(
            "SELECT id, external_id, prompt, prompt_is_messages, response_a, response_b, responses FROM visible_pairs WHERE project_id = ? ORDER BY id"
        )
        try rows.bind([.int(Int64(projectID))])
        try rows.forEach { row in
            try body(
                row.int64(0), row.string(1), Prompt.stored(row.string(2), isMessages: row.bool(3)),
                StoredResponses.parse(row.optionalString(6)) ?? [row.string(4), row.string(5)])
        }
    }

    /// Each rater's judgements on each task, repeats left out, ordered by task,
    /// rater and time (a rater's first judgement on a task comes first).
    static func taskJudgements(_ db: any Database, projectID: Int, _ body: (TaskJudgement) throws -> Void) throws {
        let rows = try db.statement(
            """
            SELECT pair_id, user_id, ranking, ratings, rewrite, rewrite_base FROM annotations
            WHERE project_id = ? AND kind != 'repeat' ORDER BY pair_id, user_id, id
            """)
        try rows.bind([.int(Int64(projectID))])
        try rows.forEach { row in
            try body(
                TaskJudgement(
                    pair: row.int64(0), user: row.int(1), ranking: Ranking.stored(row.optionalString(2)),
                    ratings: Ratings.stored(row.optionalString(3)),
                    rewrite: row.optionalString(4).map { Rewrite(base: row.optionalInt(5) ?? 0, text: $0) }))
        }
    }
}
