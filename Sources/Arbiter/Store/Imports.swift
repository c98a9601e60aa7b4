import Storage

/// The `imports` table: staged pair imports and their state.
enum Imports {
    /// Starts a staged import into `projectID`; one at a time per project.
    static func begin(_ db: any Database, projectID: Int, actor: Int?, now: Int64) throws -> Int64 {
        guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
        guard
            let id = try db.queryFirst(
                "INSERT INTO imports (project_id, user_id, started_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                [.int(Int64(projectID)), SQLValue(actor), .text(Clock.iso8601(milliseconds: now))], { $0.int64(0) })
        else {
            throw ServiceError.conflict(
                code: "import_running", message: "another import into this project is still running; try again when it is done")
        }
        return id
    }

    /// Makes the staged pairs visible, all at once.
    static func commit(_ db: any Database, importID: Int64, now: Int64) throws {
        try finish(db, importID: importID, state: "committed", now: now)
    }

    /// Ends an import in `state` (`committed` or `discarded`).
    static func finish(_ db: any Database, importID: Int64, state: String, now: Int64) throws {
        try db.run(
            "UPDATE imports SET state = ?, finished_at = ? WHERE id = ? AND state = 'staging'",
            [.text(state), .text(Clock.iso8601(milliseconds: now)), .int(importID)])
    }

    /// Deletes up to `limit` staged rows of the import; returns how many went.
    static func deleteStaged(_ db: any Database, importID: Int64, limit: Int) throws -> Int {
        try db.run(
            "DELETE FROM pairs WHERE id IN (SELECT id FROM pairs WHERE import_id = ? LIMIT ?)",
            [.int(importID), .int(Int64(limit))])
    }

    /// Imports still staging.
    static func staging(_ db: any Database) throws -> [Int64] {
        try db.query("SELECT id FROM imports WHERE state = 'staging' ORDER BY id") { $0.int64(0) }
    }
}
