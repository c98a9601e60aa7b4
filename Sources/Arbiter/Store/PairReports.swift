public import JSON
public import Storage

/// An annotator's "report a problem with this pair", as admins see it.
public struct PairReport: Sendable, Equatable {
    public var id: Int
    public var pairID: String
    public var prompt: Prompt
    public var responseA: String
    public var responseB: String
    public var reason: String
    public var reporter: String
    public var createdAt: Int64
    public var resolvedAt: Int64?

}

/// Pair reports in SQL: one open report per annotator and pair.
public enum PairReports {
    /// Most bytes a reason may have.
    public static let maxReasonBytes = 2000

    public enum Refusal: Error, Equatable, Sendable {
        /// This annotator already has an open report on this pair.
        case alreadyReported
    }

    /// Records a report on the pair of one of the caller's assignments.
    public static func report(_ db: any Database, assignmentID: Int, userID: Int, reason: String, now: Int64) throws {
        guard
            let row = try db.queryFirst(
                "SELECT user_id, pair_id FROM assignments WHERE id = ?", [.int(Int64(assignmentID))], { ($0.int(0), $0.int64(1)) })
        else { throw Annotations.Refusal.noSuchAssignment }
        guard row.0 == userID else { throw Annotations.Refusal.notYours }
        do {
            try db.run(
                "INSERT INTO pair_reports (pair_id, user_id, assignment_id, reason, created_at) VALUES (?, ?, ?, ?, ?)",
                [.int(row.1), .int(Int64(userID)), .int(Int64(assignmentID)), .text(reason), .int(now)])
        } catch {
            throw error.isUniqueViolation ? Refusal.alreadyReported : error
        }
    }

    /// A project's reports, newest first; open ones only unless `includeResolved`.
    public static func list(_ db: any Database, projectID: Int, includeResolved: Bool, limit: Int) throws -> [PairReport] {
        try db.query(
            """
            SELECT r.id, p.external_id, p.prompt, p.prompt_is_messages, p.response_a, p.response_b, r.reason, u.username,
                   r.created_at, r.resolved_at
            FROM pair_reports r JOIN pairs p ON p.id = r.pair_id JOIN users u ON u.id = r.user_id
            WHERE p.project_id = ? AND (? = 1 OR r.resolved_at IS NULL)
            ORDER BY r.id DESC LIMIT ?
            """, [.int(Int64(projectID)), SQLValue(includeResolved), .int(Int64(limit))]
        ) { row in
            PairReport(
                id: row.int(0), pairID: row.string(1), prompt: Prompt.stored(row.string(2), isMessages: row.bool(3)),
                responseA: row.string(4), responseB: row.string(5), reason: row.string(6), reporter: row.string(7),
                createdAt: row.int64(8), resolvedAt: row.isNull(9) ? nil : row.int64(9))
        }
    }

    /// The project a report belongs to.
    public static func projectOf(_ db: any Database, reportID: Int) throws -> Int? {
        try db.queryFirst(
            "SELECT p.project_id FROM pair_reports r JOIN pairs p ON p.id = r.pair_id WHERE r.id = ?", [.int(Int64(reportID))]
        ) { $0.int(0) }
    }

    /// Marks an open report of the project resolved; false if there is none.
    public static func resolve(_ db: any Database, projectID: Int, reportID: Int, by userID: Int, now: Int64) throws -> Bool {
        try db.run(
            """
            UPDATE pair_reports SET resolved_at = ?, resolved_by = ?
            WHERE id = ? AND resolved_at IS NULL AND pair_id IN (SELECT id FROM pairs WHERE project_id = ?)
            """, [.int(now), .int(Int64(userID)), .int(Int64(reportID)), .int(Int64(projectID))]) == 1
    }
}
