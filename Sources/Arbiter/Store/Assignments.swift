public import JSON
public import Storage

/// A pair leased to one annotator, as the annotator sees it.
public struct Assignment: Sendable, Equatable {
    public var id: Int
    public var pairID: Int64
    public var externalPairID: String
    public var kind: AssignmentKind
    public var shownSwapped: Bool
    public var expiresAt: Int64
    public var prompt: Prompt
    public var responseA: String
    public var responseB: String
    /// A ranking or rating task: every response (canonical order), and the
    /// canonical index shown at each position. Nil for a pair.
    public var task: (responses: [String], shownOrder: [Int])? = nil

    public static func == (lhs: Assignment, rhs: Assignment) -> Bool {
        lhs.id == rhs.id && lhs.pairID == rhs.pairID && lhs.externalPairID == rhs.externalPairID && lhs.kind == rhs.kind
            && lhs.shownSwapped == rhs.shownSwapped && lhs.expiresAt == rhs.expiresAt && lhs.prompt == rhs.prompt
            && lhs.responseA == rhs.responseA && lhs.responseB == rhs.responseB
            && lhs.task?.responses == rhs.task?.responses && lhs.task?.shownOrder == rhs.task?.shownOrder
    }

}

/// The JSON text of a list of indices, and back.
enum IndexList {
    static func text(_ indices: [Int]) -> String { JSONValue.array(indices.map { .int(Int64($0)) }).jsonText }

    static func parse(_ text: String?) -> [Int]? {
        guard let text, let array = (try? JSONValue.parse(text))?.arrayValue else { return nil }
        let indices = array.compactMap { $0.intValue.map(Int.init) }
        return indices.count == array.count ? indices : nil
    }
}

/// A stored task's responses (`responses` JSON), or nil for a pair.
enum StoredResponses {
    static func parse(_ text: String?) -> [String]? {
        guard let text, let array = (try? JSONValue.parse(text))?.arrayValue else { return nil }
        let texts = array.compactMap(\.stringValue)
        return texts.count == array.count ? texts : nil
    }
}

/// Leasing pairs to annotators (`next`). Runs inside the writer's transaction, so
/// the read-check-lease sequence is serialised and overlap is never exceeded.
public enum Assignments {
    /// The user's live lease in the project, else a new one, else nil (nothing
    /// left). Runs as ``ConnectionPool/autocommit(_:)`` work: the common lease is
    /// two statements on PostgreSQL (``leaseState(_:projectID:userID:)``, then
    /// ``leaseOpenPair(_:project:userID:now:swapped:)``), each atomic on its own;
    /// the rest (gold, repeats, tasks, active selection, the last open pairs) is one
    /// transaction. One live lease per annotator is the unique index
    /// `assignments_live`: when another `next` of theirs (on another node) leased
    /// first, this one's insert fails and it answers with that lease.
    public static func next(
        _ db: any Database, projectID: Int, userID: Int, membersOnly: Bool, now: Int64, sweep: LeaseSweep,
        random: inout some RandomNumberGenerator
    ) throws -> Assignment? {
        for _ in 0..<claimAttempts {
            do {
                return try lease(
                    db, projectID: projectID, userID: userID, membersOnly: membersOnly, now: now, sweep: sweep, random: &random)
            } catch  where db.dialect == .postgres && error.isUniqueViolation {
                continue  // asked twice at once: the next round finds the other's lease
            }
        }
        throw Contended()
    }

    /// No project with that id, or not one open to this annotator (HTTP 404 either way).
    public struct NoSuchProject: Error {}

    static func lease(
        _ db: any Database, projectID: Int, userID: Int, membersOnly: Bool, now: Int64, sweep: LeaseSweep,
        random: inout some RandomNumberGenerator
    ) throws -> Assignment? {
        guard let state = try leaseState(db, projectID: projectID, userID: userID), state.member || !membersOnly else {
            throw NoSuchProject()
        }
        let settings = state.project.settings
        if let lease = state.lease {
            // > Asking again returns the same live lease.
            if lease.expiresAt > now { return try load(db, assignmentID: lease.id) }
            try db.atomically { try reclaimExpired(db, now: now) }
        }
        // The project's cap on one annotator's judgements: reached, nothing more for them.
        if settings.maxPerAnnotator > 0, state.judged >= settings.maxPerAnnotator { return nil }
        if sweep.due(now: now) { try db.atomically { try reclaimExpired(db, now: now) } }
        let roll = Double.random(in: 0..<1, using: &random)
        if settings.kind == .pairwise, !settings.activeSelection, roll >= settings.goldRate + settings.repeatRate,
            let leased = try leaseOpenPair(db, project: state.project, userID: userID, now: now, swapped: Bool.random(using: &random))
        {
            return leased
        }
        return try db.atomically {
            try leaseInTransaction(db, project: state.project, userID: userID, now: now, roll: roll, random: &random)
        }
    }

    /// Every other lease, as one transaction: choose (gold, repeat, model or random
    /// draw, or the next open pair; expired leases reclaimed first if nothing is
    /// open), claim, insert, read back.
    static func leaseInTransaction(
        _ db: any Database, project: Project, userID: Int, now: Int64, roll: Double, random: inout some RandomNumberGenerator
    ) throws -> Assignment? {
        let projectID = SQLValue.int(Int64(project.id))
        let user = SQLValue.int(Int64(userID))
        var reclaimed = false
        // Another node may take a pair's last slot between choosing it and claiming
        // it; then choose again (SQLite's single writer never gets here twice).
        for _ in 0..<Self.claimAttempts {
            guard let choice = try choose(db, project: project, projectID: projectID, user: user, now: now, roll: roll, random: &random)
            else {
                if reclaimed { return nil }
                // Nothing open: perhaps only because leases expired since the last sweep.
                try reclaimExpired(db, now: now)
                reclaimed = true
                continue
            }
            if choice.kind == .normal {
                let claimed = try db.run(
                    "UPDATE pairs SET active_count = active_count + 1 WHERE id = ? AND active_count < wanted", [.int(choice.pairID)])
                if claimed == 0 { continue }
            }
            let expires = now + Int64(project.settings.leaseTTLSeconds) * 1000
            var swapped = choice.swapped
            var shownOrder: [Int]?
            if project.settings.kind != .pairwise {
                let order = try taskOrder(db, pairID: choice.pairID, kind: choice.kind, user: user, random: &random)
                shownOrder = order
                swapped = (order.firstIndex(of: 1) ?? 1) < (order.firstIndex(of: 0) ?? 0)
            }
            let id = try db.insert(
                """
                INSERT INTO assignments (project_id, pair_id, user_id, kind, shown_swapped, state, leased_at, expires_at, selection, shown_order)
                VALUES (?, ?, ?, ?, ?, 'leased', ?, ?, ?, ?)
                """,
                [
                    projectID, .int(choice.pairID), user, .text(choice.kind.rawValue), SQLValue(swapped), .int(now), .int(expires),
                    SQLValue(choice.selection), SQLValue(shownOrder.map(IndexList.text)),
                ])
            return try load(db, assignmentID: Int(id))
        }
        // Never "nothing left" while pairs are open: ask the client to come back.
        throw Contended()
    }

    /// The order a task's responses are shown in: a fresh shuffle, or for a repeat
    /// the reverse of what the annotator saw first (the counterpart of showing a
    /// pair the other way round).
    static func taskOrder(
        _ db: any Database, pairID: Int64, kind: AssignmentKind, user: SQLValue, random: inout some RandomNumberGenerator
    ) throws -> [Int] {
        let count =
            try db.queryFirst("SELECT responses FROM pairs WHERE id = ?", [.int(pairID)]) { row in
                StoredResponses.parse(row.optionalString(0))?.count
            } ?? nil
        if kind == .repeat,
            let first = try db.queryFirst(
                "SELECT shown_order FROM annotations WHERE pair_id = ? AND user_id = ? AND kind = 'normal' ORDER BY id LIMIT 1",
                [.int(pairID), user], { IndexList.parse($0.optionalString(0)) }) ?? nil
        {
            return first.reversed()
        }
        return Array(0..<(count ?? 2)).shuffled(using: &random)
    }

    /// Tries at claiming a chosen pair before giving up for this request.
    static let claimAttempts = 8

    /// Every pair chosen was taken by another node first, `claimAttempts` times
    /// (HTTP 503 with Retry-After: nothing was leased, ask again).
    public struct Contended: Error {}

    /// The pair to lease next, with its kind, side order and how it was selected.
    static func choose(
        _ db: any Database, project: Project, projectID: SQLValue, user: SQLValue, now: Int64, roll: Double,
        random: inout some RandomNumberGenerator
    ) throws -> (pairID: Int64, kind: AssignmentKind, swapped: Bool, selection: String?)? {
        var choice: (pairID: Int64, kind: AssignmentKind, swapped: Bool, selection: String?)?
        // Gold pairs and repeats are only mixed into normal work, never served as
        // the only thing left: otherwise "nothing left to judge, yet `next` serves
        // one" would tell an annotator that what they see is gold.
        if roll < project.settings.goldRate + project.settings.repeatRate, try hasOpenPair(db, projectID: projectID, user: user) {
            if roll < project.settings.goldRate {
                choice = try goldPair(db, projectID: projectID, user: user, random: &random).map {
                    ($0, .gold, Bool.random(using: &random), nil)
                }
            } else {
                choice = try repeatPair(db, projectID: projectID, user: user, settings: project.settings, now: now)
                    .map { ($0.pairID, .repeat, $0.swapped ?? Bool.random(using: &random), nil) }
            }
        }
        if choice == nil, let open = try openPair(db, projectID: projectID, user: user) {
            var pick = (id: open.id, selection: "order")
            // Active selection: a fresh pair is the model's least certain (once there
            // is a model), or with the random share, any untouched pair.
            if project.settings.activeSelection && !open.started {
                let trained = try SelectionModels.hasModel(db, projectID: project.id)
                if trained { pick.selection = "model" }
                if Double.random(in: 0..<1, using: &random) < project.settings.activeRandomShare,
                    let drawn = try randomFreshPair(db, projectID: projectID, user: user, random: &random)
                {
                    pick = (drawn, "random")
                }
            }
            choice = (pick.id, .normal, Bool.random(using: &random), pick.selection)
        }
        return choice
    }

    /// The conditions of a pair that still wants judgements and that this user has
    /// neither been given nor judged (on `p`, with the project and the user twice).
    static let openForUser = """
        p.project_id = ? AND p.gold IS NULL AND p.active_count < p.wanted
          AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.pair_id = p.id AND a.user_id = ?)
          AND NOT EXISTS (SELECT 1 FROM annotations n WHERE n.pair_id = p.id AND n.user_id = ?)
        """

    /// Whether any pair is open to this user (without locking it).
    static func hasOpenPair(_ db: any Database, projectID: SQLValue, user: SQLValue) throws -> Bool {
        try db.queryFirst("SELECT 1 FROM visible_pairs p WHERE " + openForUser + " LIMIT 1", [projectID, user, user]) { _ in true } ?? false
    }

    /// The next pair that still wants judgements and that this user has neither
    /// been given nor judged: started pairs first (so items complete), then by
    /// priority (active selection), then oldest.
    ///
    /// On PostgreSQL, where many `next`s run at once and would all pick the same
    /// first pair (and then queue on its row), the pair's row is locked as it is
    /// chosen, skipping pairs other transactions are claiming right now
    /// (`FOR UPDATE SKIP LOCKED`); only if every candidate is being claimed does it
    /// wait for them, so "nothing left" is never said while something is.
    static func openPair(_ db: any Database, projectID: SQLValue, user: SQLValue) throws -> (id: Int64, started: Bool)? {
        let conditions =
            openForUser + """
                 ORDER BY p.active_count DESC, p.priority, p.id
                LIMIT 1
                """
        let read: (any Row) -> (id: Int64, started: Bool) = { ($0.int64(0), $0.int(1) > 0) }
        guard db.dialect == .postgres else {
            return try db.queryFirst("SELECT p.id, p.active_count FROM visible_pairs p WHERE " + conditions, [projectID, user, user], read)
        }
        // `visible_pairs` spelled out: rows of a view with a subquery cannot be locked.
        let select = "SELECT p.id, p.active_count FROM pairs p WHERE \(PairRows.visible) AND " + conditions
        for _ in 0..<claimAttempts {
            if let free = try db.queryFirst(select + " FOR UPDATE OF p SKIP LOCKED", [projectID, user, user], read) { return free }
            // Nothing unlocked: is anything open at all (being claimed by others)?
            guard try db.queryFirst(select, [projectID, user, user], read) != nil else { return nil }
            if let waited = try db.queryFirst(select + " FOR UPDATE OF p", [projectID, user, user], read) { return waited }
        }
        return nil
    }

    /// An untouched pair drawn uniformly at random (the next one at or after a random id).
    static func randomFreshPair(
        _ db: any Database, projectID: SQLValue, user: SQLValue, random: inout some RandomNumberGenerator
    ) throws -> Int64? {
        let bounds = "SELECT id FROM visible_pairs WHERE project_id = ? AND gold IS NULL AND active_count = 0 ORDER BY id"
        guard let low = try db.queryFirst(bounds + " LIMIT 1", [projectID], { $0.int64(0) }),
            let high = try db.queryFirst(bounds + " DESC LIMIT 1", [projectID], { $0.int64(0) })
        else { return nil }
        let next = """
            SELECT p.id FROM visible_pairs p
            WHERE p.project_id = ? AND p.gold IS NULL AND p.active_count = 0 AND p.id >= ?
              AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.pair_id = p.id AND a.user_id = ?)
              AND NOT EXISTS (SELECT 1 FROM annotations n WHERE n.pair_id = p.id AND n.user_id = ?)
            ORDER BY p.id LIMIT 1
            """
        let start = Int64.random(in: low...high, using: &random)
        if let pair = try db.queryFirst(next, [projectID, .int(start), user, user], { $0.int64(0) }) { return pair }
        return try db.queryFirst(next, [projectID, .int(low), user, user], { $0.int64(0) })
    }

    /// A gold pair this user has not been given, drawn at random in constant time
    /// (the first at or after a random id, on the partial index `pairs_gold`):
    /// `ORDER BY random()` over every gold pair took long enough, with thousands of
    /// them, for the answer's timing to tell gold from normal.
    static func goldPair(
        _ db: any Database, projectID: SQLValue, user: SQLValue, random: inout some RandomNumberGenerator
    ) throws -> Int64? {
        let bounds = "SELECT id FROM pairs WHERE project_id = ? AND gold IS NOT NULL ORDER BY id"
        guard let low = try db.queryFirst(bounds + " LIMIT 1", [projectID], { $0.int64(0) }),
            let high = try db.queryFirst(bounds + " DESC LIMIT 1", [projectID], { $0.int64(0) })
        else { return nil }
        let next = """
            SELECT p.id FROM visible_pairs p
            WHERE p.project_id = ? AND p.gold IS NOT NULL AND p.id >= ?
              AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.pair_id = p.id AND a.user_id = ?)
              AND NOT EXISTS (SELECT 1 FROM annotations n WHERE n.pair_id = p.id AND n.user_id = ?)
            ORDER BY p.id LIMIT 1
            """
        let start = Int64.random(in: low...high, using: &random)
        if let pair = try db.queryFirst(next, [projectID, .int(start), user, user], { $0.int64(0) }) { return pair }
        return try db.queryFirst(next, [projectID, .int(low), user, user], { $0.int64(0) })
    }

    /// A pair this user judged (normal) and has not had repeated, shown the other way
    /// round — only one judged at least `repeatAfterJudgements` of their judgements
    /// and `repeatAfterMinutes` ago, so it is not recognised (nil: none is yet; the
    /// annotator gets normal work instead).
    static func repeatPair(
        _ db: any Database, projectID: SQLValue, user: SQLValue, settings: ProjectSettings, now: Int64
    ) throws
        -> (pairID: Int64, swapped: Bool?)?
    {
        // Judgements older than the annotator's last `repeatAfterJudgements` ones: ids below this.
        var before = Int64.max
        if settings.repeatAfterJudgements > 0 {
            guard
                let id = try db.queryFirst(
                    "SELECT id FROM annotations WHERE user_id = ? AND project_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
                    [user, projectID, .int(Int64(settings.repeatAfterJudgements - 1))], { $0.int64(0) })
            else { return nil }
            before = id
        }
        return try db.queryFirst(
            """
            SELECT n.pair_id, n.shown_swapped FROM annotations n LEFT JOIN assignments o ON o.id = n.assignment_id
            WHERE n.user_id = ? AND n.project_id = ? AND n.kind = 'normal' AND n.id < ? AND COALESCE(o.completed_at, 0) <= ?
              AND NOT EXISTS (SELECT 1 FROM assignments r WHERE r.pair_id = n.pair_id AND r.user_id = n.user_id AND r.kind = 'repeat')
            ORDER BY random() LIMIT 1
            """, [user, projectID, .int(before), .int(now - Int64(settings.repeatAfterMinutes) * 60_000)],
            { row in (row.int64(0), row.isNull(1) ? nil : !row.bool(1)) })
    }

    /// Expired leases give their slot back.
    static func reclaimExpired(_ db: any Database, now: Int64) throws {
        let expired = try db.query(
            "UPDATE assignments SET state = 'expired' WHERE state = 'leased' AND expires_at <= ? RETURNING pair_id, kind",
            [.int(now)], { ($0.int64(0), $0.string(1)) })
        for (pairID, kind) in expired where kind == AssignmentKind.normal.rawValue {
            try db.run("UPDATE pairs SET active_count = active_count - 1 WHERE id = ? AND active_count > 0", [.int(pairID)])
        }
    }

    /// An assignment with its pair.
    public static func load(_ db: any Database, assignmentID: Int) throws -> Assignment? {
        try db.queryFirst(
            """
            SELECT a.id, a.pair_id, p.external_id, a.kind, a.shown_swapped, a.expires_at, p.prompt, p.prompt_is_messages,
                   p.response_a, p.response_b, a.shown_order, p.responses
            FROM assignments a JOIN pairs p ON p.id = a.pair_id WHERE a.id = ?
            """, [.int(Int64(assignmentID))]
        ) { row in
            var assignment = Assignment(
                id: row.int(0), pairID: row.int64(1), externalPairID: row.string(2),
                kind: AssignmentKind(rawValue: row.string(3)) ?? .normal,
                shownSwapped: row.bool(4), expiresAt: row.int64(5), prompt: Prompt.stored(row.string(6), isMessages: row.bool(7)),
                responseA: row.string(8), responseB: row.string(9))
            if let order = IndexList.parse(row.optionalString(10)) {
                let responses = StoredResponses.parse(row.optionalString(11)) ?? [assignment.responseA, assignment.responseB]
                if order.count == responses.count, order.allSatisfy(responses.indices.contains) {
                    assignment.task = (responses, order)
                }
            }
            return assignment
        }
    }
}
