public import Storage

/// An annotator's own progress in a project.
public struct AnnotatorProgress: Sendable, Equatable {
    /// Judgements completed today (UTC).
    public var doneToday: Int
    /// Judgements in the project, ever.
    public var doneTotal: Int
    /// Pairs still open to this annotator.
    public var left: Int
    /// Tasks leased to this annotator now (on their screen, not yet judged).
    public var inProgress: Int = 0
}

/// Reads an annotator's progress.
public enum Progress {
    /// Judgements today (UTC), in total, and pairs still open to this annotator
    /// (pairs that want more judgements and that they have not had, the pair on
    /// their screen included when it is one of them — so leasing a gold pair or a
    /// repeat changes the count exactly as leasing a normal pair does: not at all).
    public static func of(_ db: any Database, projectID: Int, userID: Int, now: Int64) throws -> AnnotatorProgress {
        let dayStart = now - now % 86_400_000
        let today =
            try db.queryFirst(
                "SELECT count(*) FROM assignments WHERE user_id = ? AND project_id = ? AND state = 'completed' AND completed_at >= ?",
                [.int(Int64(userID)), .int(Int64(projectID)), .int(dayStart)]
            ) { $0.int(0) } ?? 0
        let total =
            try db.queryFirst(
                "SELECT count(*) FROM annotations WHERE user_id = ? AND project_id = ?",
                [.int(Int64(userID)), .int(Int64(projectID))]
            ) { $0.int(0) } ?? 0
        let left =
            try db.queryFirst(
                """
                SELECT count(*) FROM visible_pairs p
                WHERE p.project_id = ? AND p.gold IS NULL
                  AND NOT EXISTS (SELECT 1 FROM annotations n WHERE n.pair_id = p.id AND n.user_id = ?)
                  AND (EXISTS (SELECT 1 FROM assignments a WHERE a.pair_id = p.id AND a.user_id = ? AND a.state = 'leased'
                                                            AND a.kind = 'normal' AND a.expires_at > ?)
                       OR (p.active_count < p.wanted AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.pair_id = p.id AND a.user_id = ?)))
                """, [.int(Int64(projectID)), .int(Int64(userID)), .int(Int64(userID)), .int(now), .int(Int64(userID))]
            ) { $0.int(0) } ?? 0
        let leased =
            try db.queryFirst(
                "SELECT count(*) FROM assignments WHERE user_id = ? AND project_id = ? AND state = 'leased' AND expires_at > ?",
                [.int(Int64(userID)), .int(Int64(projectID)), .int(now)]
            ) { $0.int(0) } ?? 0
        return AnnotatorProgress(doneToday: today, doneTotal: total, left: left, inProgress: leased)
    }
}
