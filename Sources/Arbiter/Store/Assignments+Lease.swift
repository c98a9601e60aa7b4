public import Storage
import Synchronization

/// What `next` learns in its first statement: the project, whether the user may
/// work on it, how many judgements they made in it (when the project caps them),
/// and their lease in it — live, or expired and not yet reclaimed.
public struct LeaseState: Sendable {
    public var project: Project
    public var member: Bool
    public var judged: Int
    public var lease: (id: Int, expiresAt: Int64)?
}

/// Gives expired leases' slots back at most once a second per node, instead of
/// in every `next` (a statement per request on the hot path); `next` also reclaims
/// whenever it finds nothing open, so an expired lease never keeps a pair from
/// the one annotator who could take it.
public final class LeaseSweep: Sendable {
    private let last = Atomic<Int64>(Int64.min)
    static let interval: Int64 = 1000

    public init() {}

    /// Whether this caller should sweep now (and the next one not before `interval`).
    func due(now: Int64) -> Bool {
        let seen = last.load(ordering: .relaxed)
        guard seen == Int64.min || now - seen >= Self.interval || now < seen else { return false }
        return last.compareExchange(expected: seen, desired: now, ordering: .relaxed).exchanged
    }
}

extension Assignments {
    /// The project's columns, then membership, the judgement count (0 unless the
    /// project caps it) and the user's lease: one statement.
    static func leaseState(_ db: any Database, projectID: Int, userID: Int) throws -> LeaseState? {
        try db.queryFirst(
            """
            SELECT \(Projects.qualifiedColumns),
                   CASE WHEN NOT EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id)
                          OR EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id = ?1) THEN 1 ELSE 0 END,
                   CASE WHEN p.max_per_annotator > 0
                        THEN (SELECT count(*) FROM annotations n WHERE n.user_id = ?1 AND n.project_id = p.id) ELSE 0 END,
                   a.id, a.expires_at
            FROM projects p LEFT JOIN assignments a ON a.user_id = ?1 AND a.project_id = p.id AND a.state = 'leased'
            WHERE p.id = ?2
            """, [.int(Int64(userID)), .int(Int64(projectID))]
        ) { row in
            let base = Int32(Projects.columnCount)
            return LeaseState(
                project: Projects.decode(row), member: row.int(base) == 1, judged: row.int(base + 1),
                lease: row.isNull(base + 2) ? nil : (row.int(base + 2), row.int64(base + 3)))
        }
    }

    /// The common lease in one statement where the engine allows it: the open pair
    /// `next` would choose (pairwise, in order), claimed and leased, with its texts.
    /// Nil when none could be claimed at once (nothing open, or every candidate
    /// being claimed right now): the caller takes the general way.
    ///
    /// PostgreSQL: one statement — choose (`FOR UPDATE SKIP LOCKED`), claim
    /// (`active_count + 1`), insert the lease, return the pair — atomic without a
    /// transaction, one round trip. SQLite, which has no data-modifying `WITH`:
    /// the claim returns the pair (`UPDATE … RETURNING`), then the insert; both
    /// inside the writer's transaction.
    static func leaseOpenPair(
        _ db: any Database, project: Project, userID: Int, now: Int64, swapped: Bool
    ) throws -> Assignment? {
        let projectID = SQLValue.int(Int64(project.id))
        let user = SQLValue.int(Int64(userID))
        let expires = now + Int64(project.settings.leaseTTLSeconds) * 1000
        let order = "ORDER BY p.active_count DESC, p.priority, p.id LIMIT 1"
        let texts = "external_id, prompt, prompt_is_messages, response_a, response_b"
        func assignment(id: Int, _ row: any Row, from column: Int32) -> Assignment {
            Assignment(
                id: id, pairID: row.int64(column), externalPairID: row.string(column + 1), kind: .normal, shownSwapped: swapped,
                expiresAt: expires, prompt: Prompt.stored(row.string(column + 2), isMessages: row.bool(column + 3)),
                responseA: row.string(column + 4), responseB: row.string(column + 5))
        }
        if db.dialect == .postgres {
            return try db.queryFirst(
                """
                WITH chosen AS (
                    SELECT p.id FROM pairs p WHERE \(PairRows.visible) AND \(openForUser) \(order) FOR UPDATE OF p SKIP LOCKED
                ), claimed AS (
                    UPDATE pairs SET active_count = pairs.active_count + 1 FROM chosen
                    WHERE pairs.id = chosen.id AND pairs.active_count < pairs.wanted
                    RETURNING pairs.id, pairs.external_id, pairs.prompt, pairs.prompt_is_messages, pairs.response_a, pairs.response_b
                ), leased AS (
                    INSERT INTO assignments (project_id, pair_id, user_id, kind, shown_swapped, state, leased_at, expires_at, selection)
                    SELECT CAST(? AS BIGINT), claimed.id, CAST(? AS BIGINT), 'normal', CAST(? AS BIGINT), 'leased',
                           CAST(? AS BIGINT), CAST(? AS BIGINT), 'order'
                    FROM claimed
                    RETURNING id, pair_id
                )
                SELECT leased.id, claimed.id, claimed.external_id, claimed.prompt, claimed.prompt_is_messages,
                       claimed.response_a, claimed.response_b
                FROM leased JOIN claimed ON claimed.id = leased.pair_id
                """,
                [projectID, user, user, projectID, user, SQLValue(swapped), .int(now), .int(expires)]
            ) { row in assignment(id: row.int(0), row, from: 1) }
        }
        guard
            let claimed = try db.queryFirst(
                """
                UPDATE pairs SET active_count = active_count + 1
                WHERE id = (SELECT p.id FROM visible_pairs p WHERE \(openForUser) \(order)) AND active_count < wanted
                RETURNING id, \(texts)
                """, [projectID, user, user], { row in assignment(id: 0, row, from: 0) })
        else { return nil }
        let id = try db.insert(
            """
            INSERT INTO assignments (project_id, pair_id, user_id, kind, shown_swapped, state, leased_at, expires_at, selection)
            VALUES (?, ?, ?, 'normal', ?, 'leased', ?, ?, 'order')
            """, [projectID, .int(claimed.pairID), user, SQLValue(swapped), .int(now), .int(expires)])
        var leased = claimed
        leased.id = Int(id)
        return leased
    }
}
