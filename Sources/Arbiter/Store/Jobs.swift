import Storage

/// `reward_jobs`: a project's latest export job, shared by every node. A node
/// claims a job by writing its name; while it runs it writes progress (the
/// heartbeat); a job whose heartbeat is older than the stale limit is taken over
/// by another node, which runs the stored request again.
enum Jobs {
    struct Row: Sendable {
        var projectID: Int
        var state: String
        var request: String
        var node: String
        var attempts: Int
        var heartbeatAt: Int64
        var epoch: Int
        var epochs: Int
        var loss: Double?
        var validationLoss: Double?
        var startedAt: Int64
        var finishedAt: Int64?
        var error: String?
    }

    /// Starts the project's job on `node` unless one runs with a heartbeat newer
    /// than `staleBefore`; true if it is now this node's.
    static func claim(
        _ db: any Database, projectID: Int, request: String, node: String, epochs: Int, now: Int64, staleBefore: Int64
    ) throws -> Bool {
        try db.queryFirst(
            """
            INSERT INTO reward_jobs (project_id, state, request, node, attempts, heartbeat_at, epoch, epochs, started_at)
            VALUES (?, 'running', ?, ?, 1, ?, 0, ?, ?)
            ON CONFLICT (project_id) DO UPDATE SET state = 'running', request = excluded.request, node = excluded.node, attempts = 1,
                heartbeat_at = excluded.heartbeat_at, epoch = 0, epochs = excluded.epochs, loss = NULL, validation_loss = NULL,
                started_at = excluded.started_at, finished_at = NULL, error = NULL
            WHERE reward_jobs.state != 'running' OR reward_jobs.heartbeat_at < ?
            RETURNING project_id
            """,
            [.int(Int64(projectID)), .text(request), .text(node), .int(now), .int(Int64(epochs)), .int(now), .int(staleBefore)]
        ) { $0.int(0) } != nil
    }

    /// Running jobs whose node has been silent since before `staleBefore`.
    static func stale(_ db: any Database, staleBefore: Int64) throws -> [Int] {
        try db.query(
            "SELECT project_id FROM reward_jobs WHERE state = 'running' AND heartbeat_at < ? ORDER BY project_id", [.int(staleBefore)]
        ) { $0.int(0) }
    }

    /// Takes over a silent job; returns its request if it is now this node's.
    static func takeOver(_ db: any Database, projectID: Int, node: String, now: Int64, staleBefore: Int64) throws -> String? {
        try db.queryFirst(
            """
            UPDATE reward_jobs SET node = ?, attempts = attempts + 1, heartbeat_at = ?, epoch = 0, loss = NULL, validation_loss = NULL
            WHERE project_id = ? AND state = 'running' AND heartbeat_at < ?
            RETURNING request
            """, [.text(node), .int(now), .int(Int64(projectID)), .int(staleBefore)]
        ) { $0.string(0) }
    }

    /// Progress and heartbeat, while the job is still this node's.
    static func progress(
        _ db: any Database, projectID: Int, node: String, epoch: Int, loss: Double?, validationLoss: Double?, now: Int64
    ) throws {
        try db.run(
            "UPDATE reward_jobs SET heartbeat_at = ?, epoch = ?, loss = ?, validation_loss = ? WHERE project_id = ? AND node = ? AND state = 'running'",
            [.int(now), .int(Int64(epoch)), SQLValue(loss), SQLValue(validationLoss), .int(Int64(projectID)), .text(node)])
    }

    /// The end of this node's run: done, or failed with a reason; false if the job
    /// was no longer this node's (taken over, or replaced).
    @discardableResult
    static func finish(_ db: any Database, projectID: Int, node: String, error: String?, now: Int64) throws -> Bool {
        try db.run(
            "UPDATE reward_jobs SET state = ?, error = ?, finished_at = ?, heartbeat_at = ? WHERE project_id = ? AND node = ? AND state = 'running'",
            [.text(error == nil ? "done" : "failed"), SQLValue(error), .int(now), .int(now), .int(Int64(projectID)), .text(node)]) > 0
    }

    static func find(_ db: any Database, projectID: Int) throws -> Row? {
        try db.queryFirst(
            """
            SELECT project_id, state, request, node, attempts, heartbeat_at, epoch, epochs, loss, validation_loss, started_at, finished_at, error
            FROM reward_jobs WHERE project_id = ?
            """, [.int(Int64(projectID))]
        ) { row in
            Row(
                projectID: row.int(0), state: row.string(1), request: row.string(2), node: row.string(3), attempts: row.int(4),
                heartbeatAt: row.int64(5), epoch: row.int(6), epochs: row.int(7), loss: row.optionalDouble(8),
                validationLoss: row.optionalDouble(9),
                startedAt: row.int64(10), finishedAt: row.isNull(11) ? nil : row.int64(11), error: row.optionalString(12))
        }
    }
}

/// `cluster_leases`: named work one node at a time, free again once expired.
enum ClusterLeases {
    /// Takes (or renews) the lease for `ttl` ms; true if `holder` has it now.
    static func acquire(_ db: any Database, name: String, holder: String, now: Int64, ttl: Int64) throws -> Bool {
        try db.queryFirst(
            """
            INSERT INTO cluster_leases (name, holder, expires_at) VALUES (?, ?, ?)
            ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
            WHERE cluster_leases.expires_at <= ? OR cluster_leases.holder = excluded.holder
            RETURNING holder
            """, [.text(name), .text(holder), .int(now + ttl), .int(now)]
        ) { $0.string(0) } != nil
    }

    /// Gives the lease back (if `holder` still has it).
    static func release(_ db: any Database, name: String, holder: String) throws {
        try db.run("DELETE FROM cluster_leases WHERE name = ? AND holder = ?", [.text(name), .text(holder)])
    }
}
