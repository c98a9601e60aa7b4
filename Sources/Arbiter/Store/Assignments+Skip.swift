public import Storage

extension Assignments {
    /// The projects in which an annotator holds a live lease.
    static func projectsWithLiveLeases(_ db: any Database, userID: Int, now: Int64) throws -> Set<Int> {
        Set(
            try db.query(
                "SELECT DISTINCT project_id FROM assignments WHERE user_id = ? AND state = 'leased' AND expires_at > ?",
                [.int(Int64(userID)), .int(now)]
            ) { $0.int(0) })
    }
}

extension Assignments {
    /// Gives a live lease back without judging (skip): the pair is not offered to
    /// this annotator again, and its slot goes to someone else.
    public static func skip(_ db: any Database, assignmentID: Int, userID: Int, now: Int64) throws {
        try RowLocks.annotator(db, userID: userID)
        guard
            let row = try db.queryFirst(
                "SELECT user_id, state, kind, pair_id, expires_at FROM assignments WHERE id = ?", [.int(Int64(assignmentID))],
                {
                    (
                        user: $0.int(0), state: AssignmentState(rawValue: $0.string(1)), kind: $0.string(2), pair: $0.int64(3),
                        expires: $0.int64(4)
                    )
                })
        else { throw Annotations.Refusal.noSuchAssignment }
        guard row.user == userID else { throw Annotations.Refusal.notYours }
        guard row.state == .leased else { return }  // already done or gone: nothing to give back
        // Reclaimed meanwhile by another node: its slot was given back there.
        guard
            try db.run(
                "UPDATE assignments SET state = 'skipped', completed_at = ? WHERE id = ? AND state = 'leased'",
                [.int(now), .int(Int64(assignmentID))]) == 1
        else { return }
        // Its slot goes back even if the lease ran out meanwhile: nothing else will give it back once it is no longer leased.
        if row.kind == AssignmentKind.normal.rawValue {
            try db.run("UPDATE pairs SET active_count = active_count - 1 WHERE id = ? AND active_count > 0", [.int(row.pair)])
        }
    }
}
