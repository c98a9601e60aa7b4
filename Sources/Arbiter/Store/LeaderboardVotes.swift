import Storage

/// The battles behind a project's leaderboard: each rater's first judgement of
/// each pair whose two responses name their models (`model_a`, `model_b`, as
/// imported or generated), quarantined raters left out and counted.
struct LeaderboardVotes {
    struct Vote {
        var modelA: String
        var modelB: String
        /// The stored choice: A, B, tie or both_bad.
        var choice: String
        var lengthA: Int
        var lengthB: Int
    }

    var votes: [Vote] = []
    var quarantinedRaters = 0
    var excludedVotes = 0
    /// Judgements of pairs without two different model names.
    var withoutModels = 0

    static func load(_ db: any Database, projectID: Int) throws -> LeaderboardVotes {
        var result = LeaderboardVotes()
        let quarantined = try RaterStatus.quarantined(db, projectID: projectID)
        result.quarantinedRaters = quarantined.count
        let rows = try db.statement(
            """
            SELECT n.pair_id, n.user_id, p.model_a, p.model_b, n.choice, length(p.response_a), length(p.response_b)
            FROM annotations n JOIN visible_pairs p ON p.id = n.pair_id
            WHERE n.project_id = ? AND n.kind != 'repeat'
            ORDER BY n.pair_id, n.user_id, n.id
            """)
        try rows.bind([.int(Int64(projectID))])
        var previous: (Int64, Int) = (-1, -1)
        try rows.forEach { row in
            let key = (row.int64(0), row.int(1))
            guard key != previous else { return }
            previous = key
            guard let a = row.optionalString(2), let b = row.optionalString(3), !a.isEmpty, !b.isEmpty, a != b else {
                result.withoutModels += 1
                return
            }
            if quarantined.contains(key.1) {
                result.excludedVotes += 1
                return
            }
            result.votes.append(Vote(modelA: a, modelB: b, choice: row.string(4), lengthA: row.int(5), lengthB: row.int(6)))
        }
        return result
    }
}
