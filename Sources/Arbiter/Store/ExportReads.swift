import Storage

/// The reads of an export, streamed row by row (an export of millions of
/// judgements never holds them all); the caller's snapshot makes them one moment.
enum ExportReads {
    /// A pair as the data file needs it.
    struct PairRow {
        var id: Int64
        var externalID: String
        var prompt: Prompt
        var responseA: String
        var responseB: String
    }

    /// A judgement as the raw and CSV files need it.
    struct AnnotationRow {
        var externalPairID: String
        var user: Int
        var choice: String
        var strength: Int?
        var aspects: String?
        var rationale: String?
        var shownSwapped: Bool?
        var durationMilliseconds: Int?
        var createdAt: String
        var kind: String
        var ranking: String? = nil
        var ratings: String? = nil
        var rewrite: String? = nil
        var rewriteBase: Int? = nil
        var shownOrder: String? = nil
    }

    /// Each rater's judgements on each pair, repeats left out, ordered by pair,
    /// rater and time (so a rater's first judgement on a pair comes first).
    static func firstJudgements(
        _ db: any Database, projectID: Int, _ body: (_ pair: Int64, _ user: Int, _ choice: String, _ strength: Int?) throws -> Void
    ) throws {
        let rows = try db.statement(
            "SELECT pair_id, user_id, choice, strength FROM annotations WHERE project_id = ? AND kind != 'repeat' ORDER BY pair_id, user_id, id"
        )
        try rows.bind([.int(Int64(projectID))])
        try rows.forEach { row in try body(row.int64(0), row.int(1), row.string(2), row.optionalInt(3)) }
    }

    /// One pair's judgements in the order each rater made them.
    static func pairJudgements(_ db: any Database, pairID: Int64) throws -> [(id: Int64, user: Int, kind: String, choice: String)] {
        try db.query("SELECT id, user_id, kind, choice FROM annotations WHERE pair_id = ? ORDER BY user_id, id", [.int(pairID)]) {
            ($0.int64(0), $0.int(1), $0.string(2), $0.string(3))
        }
    }

    /// The project's visible gold pairs and their keys.
    static func goldPairs(_ db: any Database, projectID: Int) throws -> [(pair: Int64, gold: String)] {
        try db.query(
            "SELECT id, gold FROM visible_pairs WHERE project_id = ? AND gold IS NOT NULL ORDER BY id",
            [.int(Int64(projectID))]
        ) { ($0.int64(0), $0.string(1)) }
    }

    /// The ids of the project's visible pairs in `only`, in id order.
    static func externalIDs(
        _ db: any Database, projectID: Int, only wanted: [Int64: (aWins: Bool, share: Double, strength: Double)]
    ) throws -> [String] {
        var ids: [String] = []
        ids.reserveCapacity(wanted.count)
        let rows = try db.statement("SELECT id, external_id FROM visible_pairs WHERE project_id = ? ORDER BY id")
        try rows.bind([.int(Int64(projectID))])
        try rows.forEach { row in
            if wanted[row.int64(0)] != nil { ids.append(row.string(1)) }
        }
        return ids
    }

    /// The project's visible pairs in id order (texts read only for pairs in `only`).
    static func pairs(
        _ db: any Database, projectID: Int, only wanted: [Int64: (aWins: Bool, share: Double, strength: Double)],
        _ body: (PairRow) throws -> Void
    ) throws {
        let rows = try db.statement(
            "SELECT id, external_id, prompt, prompt_is_messages, response_a, response_b FROM visible_pairs WHERE project_id = ? ORDER BY id"
        )
        try rows.bind([.int(Int64(projectID))])
        try rows.forEach { row in
            guard wanted[row.int64(0)] != nil else { return }
            try body(
                PairRow(
                    id: row.int64(0), externalID: row.string(1), prompt: Prompt.stored(row.string(2), isMessages: row.bool(3)),
                    responseA: row.string(4), responseB: row.string(5)))
        }
    }

    /// Every judgement of the project in the order it was made.
    static func annotations(_ db: any Database, projectID: Int, _ body: (AnnotationRow) throws -> Void) throws {
        let rows = try db.statement(
            """
            SELECT p.external_id, n.user_id, n.choice, n.strength, n.aspects, n.rationale, n.shown_swapped, n.duration_ms, n.created_at, n.kind,
                   n.ranking, n.ratings, n.rewrite, n.rewrite_base, n.shown_order
            FROM annotations n JOIN pairs p ON p.id = n.pair_id WHERE n.project_id = ? ORDER BY n.id
            """)
        try rows.bind([.int(Int64(projectID))])
        try rows.forEach { row in
            try body(
                AnnotationRow(
                    externalPairID: row.string(0), user: row.int(1), choice: row.string(2), strength: row.optionalInt(3),
                    aspects: row.optionalString(4), rationale: row.optionalString(5), shownSwapped: row.isNull(6) ? nil : row.bool(6),
                    durationMilliseconds: row.optionalInt(7), createdAt: row.string(8), kind: row.string(9),
                    ranking: row.optionalString(10), ratings: row.optionalString(11), rewrite: row.optionalString(12),
                    rewriteBase: row.optionalInt(13), shownOrder: row.optionalString(14)))
        }
    }

    /// Replaces a project's stored reward-model predictions.
    static func storePredictions(_ db: any Database, _ predictions: [RewardPrediction], projectID: Int, now: Int64) throws {
        try db.run("DELETE FROM reward_predictions WHERE project_id = ?", [.int(Int64(projectID))])
        let insert = try db.statement("INSERT INTO reward_predictions (pair_id, project_id, p_a, created_at) VALUES (?, ?, ?, ?)")
        for prediction in predictions {
            try insert.bind([.int(prediction.pairID), .int(Int64(projectID)), .double(min(1, max(0, prediction.probabilityA))), .int(now)])
            try insert.run()
        }
    }
}
