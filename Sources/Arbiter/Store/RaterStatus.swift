public import Storage

/// Admins' decisions about raters, per project.
public enum RaterStatus {
    /// What an admin can set.
    public enum Decision: String, Sendable {
        case quarantined, cleared
        /// Back to what the detector says.
        case ok
    }

    /// Sets (or removes, for `.ok`) a rater's status.
    public static func set(
        _ db: any Database, projectID: Int, userID: Int, decision: Decision, comment: String, by admin: Int, now: Int64
    ) throws {
        if decision == .ok {
            try db.run("DELETE FROM rater_status WHERE project_id = ? AND user_id = ?", [.int(Int64(projectID)), .int(Int64(userID))])
            return
        }
        try db.run(
            """
            INSERT INTO rater_status (project_id, user_id, status, comment, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (project_id, user_id) DO UPDATE SET status = excluded.status, comment = excluded.comment,
                set_by = excluded.set_by, set_at = excluded.set_at
            """,
            [.int(Int64(projectID)), .int(Int64(userID)), .text(decision.rawValue), .text(comment), .int(Int64(admin)), .int(now)])
    }

    /// user id → status, for a project.
    public static func all(_ db: any Database, projectID: Int) throws -> [Int: (status: String, comment: String)] {
        var result: [Int: (status: String, comment: String)] = [:]
        _ = try db.query("SELECT user_id, status, comment FROM rater_status WHERE project_id = ?", [.int(Int64(projectID))]) { row in
            result[row.int(0)] = (row.string(1), row.string(2))
        }
        return result
    }

    /// The quarantined raters of a project.
    public static func quarantined(_ db: any Database, projectID: Int) throws -> Set<Int> {
        Set(
            try db.query("SELECT user_id FROM rater_status WHERE project_id = ? AND status = 'quarantined'", [.int(Int64(projectID))]) {
                $0.int(0)
            })
    }
}
