public import Storage

extension Assignments {
    /// A study's screener: the participant's live lease, else a gold pair of the
    /// project they have not had (nil: none left). Shown like any pair.
    public static func nextScreenerPair(
        _ db: any Database, projectID: Int, userID: Int, leaseSeconds: Int, now: Int64
    ) throws -> Assignment? {
        let project = SQLValue.int(Int64(projectID))
        let user = SQLValue.int(Int64(userID))
        if let live = try db.queryFirst(
            "SELECT id, expires_at FROM assignments WHERE user_id = ? AND project_id = ? AND state = 'leased'", [user, project],
            { ($0.int(0), $0.int64(1)) })
        {
            if live.1 > now { return try load(db, assignmentID: live.0) }
            try reclaimExpired(db, now: now)
        }
        var random = SystemRandomNumberGenerator()
        guard let pairID = try goldPair(db, projectID: project, user: user, random: &random) else { return nil }
        let id = try db.insert(
            """
            INSERT INTO assignments (project_id, pair_id, user_id, kind, shown_swapped, state, leased_at, expires_at)
            VALUES (?, ?, ?, 'gold', ?, 'leased', ?, ?)
            """, [project, .int(pairID), user, SQLValue(Bool.random()), .int(now), .int(now + Int64(leaseSeconds) * 1000)])
        return try load(db, assignmentID: Int(id))
    }

    /// Gold pairs in a project (what a screener can use).
    public static func goldPairs(_ db: any Database, projectID: Int) throws -> Int {
        try db.queryFirst("SELECT count(*) FROM visible_pairs WHERE project_id = ? AND gold IS NOT NULL", [.int(Int64(projectID))]) {
            $0.int(0)
        } ?? 0
    }
}
