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
        let today = try db.queryFirst(
            "SELECT count(*) FROM assignments WHERE user_id = ? AND project_id = ? AND state = 'completed' AND completed_at >= ?",
            [.int(Int64(userID)), .int(Int64(projectID)), .int(dayStart)]) { $0.int(0) } ?? 0
        let total = try db.queryFirst(
            "SELECT count(*) FROM annotations WHERE user_id = ? AND project_id = ?",
            [.int(Int64(userID)), .int(Int64(projectID))]) { $0.int(0) } ?? 0
        let left = try db.queryFirst(
            """
            SELECT count(*) FROM visible_pairs p
            WHERE p.project_id = ? AND p.gold IS NULL
              AND NOT EXISTS (SELECT 1 FROM annotations n WHERE n.pair_id = p.id AND n.user_id = ?)
              AND (EXISTS (SELECT 1 FROM assignments a WHERE a.pair_id = p.id AND a.user_id = ? AND a.state = 'leased'
                                                        AND a.kind = 'normal' AND a.expires_at > ?)
                   OR (p.active_count < p.wanted AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.pair_id = p.id AND a.user_id = ?)))
            """, [.int(Int64(projectID)), .int(Int64(userID)), .int(Int64(userID)), .int(now), .int(Int64(userID))]) { $0.int(0) } ?? 0
        let leased = try db.queryFirst(
            "SELECT count(*) FROM assignments WHERE user_id = ? AND project_id = ? AND state = 'leased' AND expires_at > ?",
            [.int(Int64(userID)), .int(Int64(projectID)), .int(now)]) { $0.int(0) } ?? 0
        return AnnotatorProgress(doneToday: today, doneTotal: total, left: left, inProgress: leased)
    }
}

extension Assignments {
    /// The projects in which an annotator holds a live lease.
    static func projectsWithLiveLeases(_ db: any Database, userID: Int, now: Int64) throws -> Set<Int> {
        Set(try db.query("SELECT DISTINCT project_id FROM assignments WHERE user_id = ? AND state = 'leased' AND expires_at > ?",
                         [.int(Int64(userID)), .int(now)]) { $0.int(0) })
    }
}

extension Assignments {
    /// Gives a live lease back without judging (skip): the pair is not offered to
    /// this annotator again, and its slot goes to someone else.
    public static func skip(_ db: any Database, assignmentID: Int, userID: Int, now: Int64) throws {
        try RowLocks.annotator(db, userID: userID)
        guard let row = try db.queryFirst(
            "SELECT user_id, state, kind, pair_id, expires_at FROM assignments WHERE id = ?", [.int(Int64(assignmentID))],
            { (user: $0.int(0), state: $0.string(1), kind: $0.string(2), pair: $0.int64(3), expires: $0.int64(4)) })
        else { throw Annotations.Refusal.noSuchAssignment }
        guard row.user == userID else { throw Annotations.Refusal.notYours }
        guard row.state == "leased" else { return }  // already done or gone: nothing to give back
        // Reclaimed meanwhile by another node: its slot was given back there.
        guard try db.run("UPDATE assignments SET state = 'skipped', completed_at = ? WHERE id = ? AND state = 'leased'",
                         [.int(now), .int(Int64(assignmentID))]) == 1 else { return }
        if row.kind == AssignmentKind.normal.rawValue && row.expires > now {
            try db.run("UPDATE pairs SET active_count = active_count - 1 WHERE id = ? AND active_count > 0", [.int(row.pair)])
        }
    }
}
