import Storage

/// A project at a glance for its admins: where the pairs stand, judgements per
/// day and per annotator, live leases, how it collects, and agreement.
public struct DashboardReport: Sendable {
    /// Pairs by state (gold pairs counted apart).
    public var total: Int, complete: Int, inProgress: Int, untouched: Int, gold: Int
    public var liveLeases: Int
    public var collection: CollectionStatus
    /// The first day counted in ``judgementsPerDay`` (`YYYY-MM-DD`).
    public var since: String
    public var judgementsPerDay: [(day: String, judgements: Int)]
    /// The 50 busiest annotators.
    public var judgementsPerAnnotator: [(annotator: String, judgements: Int, lastAt: String)]
    public var agreement: ProjectAgreement
}

/// The dashboard's reads, one snapshot.
enum Dashboard {
    static func report(_ db: any Database, project: Project, now: Int64, days: Int = 30) throws -> DashboardReport {
        let id = SQLValue.int(Int64(project.id))
        // First judgements per pair (repeats do not count toward overlap); a pair is
        // complete once it has the judgements it wants (adaptive: once settled).
        let states: (complete: Int, inProgress: Int, untouched: Int, total: Int) =
            try db.queryFirst(
                """
                WITH counts AS (
                    SELECT pair_id, count(DISTINCT user_id) AS n FROM annotations
                    WHERE project_id = ?1 AND kind != 'repeat' GROUP BY pair_id),
                leases AS (
                    SELECT DISTINCT pair_id FROM assignments WHERE project_id = ?1 AND state = 'leased' AND expires_at > ?2)
                SELECT
                    coalesce(sum(CASE WHEN coalesce(c.n, 0) >= p.wanted THEN 1 ELSE 0 END), 0),
                    coalesce(sum(CASE WHEN coalesce(c.n, 0) < p.wanted AND (coalesce(c.n, 0) > 0 OR l.pair_id IS NOT NULL) THEN 1 ELSE 0 END), 0),
                    coalesce(sum(CASE WHEN coalesce(c.n, 0) = 0 AND l.pair_id IS NULL THEN 1 ELSE 0 END), 0),
                    count(*)
                FROM visible_pairs p LEFT JOIN counts c ON c.pair_id = p.id LEFT JOIN leases l ON l.pair_id = p.id
                WHERE p.project_id = ?1 AND p.gold IS NULL
                """, [id, .int(now)]
            ) { (complete: $0.int(0), inProgress: $0.int(1), untouched: $0.int(2), total: $0.int(3)) } ?? (0, 0, 0, 0)
        let liveLeases =
            try db.queryFirst(
                "SELECT count(*) FROM assignments WHERE project_id = ? AND state = 'leased' AND expires_at > ?", [id, .int(now)]
            ) { $0.int(0) } ?? 0
        let since = Clock.iso8601(milliseconds: now - Int64(days - 1) * 86_400_000).prefix(10)
        let perDay = try db.query(
            """
            SELECT substr(created_at, 1, 10) AS day, count(*) FROM annotations
            WHERE project_id = ? AND substr(created_at, 1, 10) >= ? GROUP BY day ORDER BY day
            """, [id, .text(String(since))]
        ) { (day: $0.string(0), judgements: $0.int(1)) }
        let perAnnotator = try db.query(
            """
            SELECT u.username, count(*) AS n, max(a.created_at) FROM annotations a JOIN users u ON u.id = a.user_id
            WHERE a.project_id = ? GROUP BY a.user_id, u.username ORDER BY n DESC, u.username LIMIT 50
            """, [id]
        ) { (annotator: $0.string(0), judgements: $0.int(1), lastAt: $0.string(2)) }
        let gold =
            try db.queryFirst("SELECT count(*) FROM visible_pairs WHERE project_id = ? AND gold IS NOT NULL", [id]) { $0.int(0) } ?? 0
        let agreement = try AgreementService.agreement(db, projectID: project.id, bootstrap: 0)
        return DashboardReport(
            total: states.total, complete: states.complete, inProgress: states.inProgress, untouched: states.untouched, gold: gold,
            liveLeases: liveLeases, collection: try SelectionModels.status(db, project: project), since: String(since),
            judgementsPerDay: perDay, judgementsPerAnnotator: perAnnotator, agreement: agreement)
    }
}
