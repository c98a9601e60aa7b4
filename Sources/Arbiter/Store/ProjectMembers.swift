import Storage

/// `project_members`: which annotators a project is for (none listed: everyone).
enum ProjectMembers {
    /// The listed members, by username.
    static func list(_ db: any Database, projectID: Int) throws -> [(id: Int, username: String)] {
        try db.query(
            "SELECT u.id, u.username FROM project_members m JOIN users u ON u.id = m.user_id WHERE m.project_id = ? ORDER BY u.username",
            [.int(Int64(projectID))]
        ) { ($0.int(0), $0.string(1)) }
    }

    /// Replaces the members (an empty list opens the project to everyone).
    static func replace(_ db: any Database, projectID: Int, userIDs: [Int]) throws {
        try db.run("DELETE FROM project_members WHERE project_id = ?", [.int(Int64(projectID))])
        let insert = try db.statement("INSERT INTO project_members (project_id, user_id) VALUES (?, ?)")
        for user in Set(userIDs).sorted() {
            try insert.bind([.int(Int64(projectID)), .int(Int64(user))])
            try insert.run()
        }
        guard !userIDs.isEmpty else { return }
        // An annotator no longer listed loses their live leases here: a lease taken
        // before the change must not let them judge a project closed to them.
        let released = try db.query(
            """
            UPDATE assignments SET state = 'expired'
            WHERE project_id = ? AND state = 'leased'
              AND user_id IN (SELECT id FROM users WHERE role = 'annotator')
              AND user_id NOT IN (SELECT user_id FROM project_members WHERE project_id = ?)
            RETURNING pair_id, kind
            """, [.int(Int64(projectID)), .int(Int64(projectID))]
        ) { ($0.int64(0), $0.string(1)) }
        for (pairID, kind) in released where kind == AssignmentKind.normal.rawValue {
            try db.run("UPDATE pairs SET active_count = active_count - 1 WHERE id = ? AND active_count > 0", [.int(pairID)])
        }
    }

    /// Whether the annotator may work on the project: it lists nobody, or them.
    static func allows(_ db: any Database, projectID: Int, userID: Int) throws -> Bool {
        try db.queryFirst(
            """
            SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM project_members WHERE project_id = ?1)
                          OR EXISTS (SELECT 1 FROM project_members WHERE project_id = ?1 AND user_id = ?2) THEN 1 ELSE 0 END
            """, [.int(Int64(projectID)), .int(Int64(userID))]
        ) { $0.int(0) } == 1
    }

    /// Whether the project has pairs and every one has had the judgements it wants.
    static func finished(_ db: any Database, projectID: Int) throws -> Bool {
        try db.queryFirst(
            """
            SELECT CASE WHEN EXISTS (SELECT 1 FROM visible_pairs WHERE project_id = ?1 AND gold IS NULL)
                         AND NOT EXISTS (SELECT 1 FROM visible_pairs WHERE project_id = ?1 AND gold IS NULL AND active_count < wanted)
                        THEN 1 ELSE 0 END
            """, [.int(Int64(projectID))]
        ) { $0.int(0) } == 1
    }
}
