import Agreement
public import JSON
public import Storage

/// A stored judgement.
public struct Annotation: Sendable, Equatable {
    public var id: Int
    public var assignmentID: Int?
    public var externalPairID: String
    public var kind: AssignmentKind
    public var choice: Choice
    public var strength: Int?
    public var aspects: JSONObject?
    public var rationale: String?
    public var shownSwapped: Bool?
    public var durationMilliseconds: Int?
    public var createdAt: String
    /// A ranking task's judgement (canonical indices).
    public var ranking: Ranking? = nil
    /// A rating task's judgement (canonical order).
    public var ratings: Ratings? = nil
    /// The rewrite, if any (canonical base).
    public var rewrite: Rewrite? = nil
    /// A task's order on screen (canonical index at each position).
    public var shownOrder: [Int]? = nil

}

/// Recording judgements on assignments.
public enum Annotations {
    /// A rater's first choice on a pair (an arena vote read back), nil without one.
    static func firstChoice(_ db: any Database, pairID: Int64, userID: Int) throws -> Choice? {
        try db.queryFirst(
            "SELECT choice FROM annotations WHERE pair_id = ? AND user_id = ? ORDER BY id LIMIT 1",
            [.int(pairID), .int(Int64(userID))]
        ) { Choice(rawValue: $0.string(0)) } ?? nil
    }

    /// Why a submission was refused.
    public enum Refusal: Error, Equatable, Sendable {
        case noSuchAssignment
        case notYours
        case expired
        case invalid(ValidationError)
        /// A change asked for before there is a judgement.
        case notJudged
        /// A change asked for after the lease ran out.
        case tooLateToChange
    }

    /// Records `submission` on assignment `assignmentID`. Returns the annotation,
    /// whether it already existed (a repeated POST returns the first result), and
    /// its project as it was read.
    ///
    /// Runs as ``ConnectionPool/autocommit(_:)`` work: on PostgreSQL two statements
    /// — the assignment with its pair and project, then completing it and inserting
    /// the judgement in one (``record(_:assignmentID:context:judged:submission:createdAt:now:)``),
    /// atomic on its own. The completion is conditional (`WHERE state = 'leased'`), so a
    /// retry of the same submit on another node, or a `next` reclaiming the lease,
    /// changes nothing once the other committed; this submit then answers with the
    /// first judgement, or 409. An adaptive project's pair is re-decided in the same
    /// transaction as its judgement.
    public static func submit(
        _ db: any Database, assignmentID: Int, userID: Int, submission: Submission, now: Int64
    ) throws -> (annotation: Annotation, replayed: Bool, project: Project) {
        let context = try submissionContext(db, assignmentID: assignmentID, userID: userID)
        let project = context.project
        if context.state == .completed { return (try firstJudgement(db, assignmentID: assignmentID), true, project) }
        guard context.state == .leased, context.expires > now else { throw Refusal.expired }
        try validate(submission, against: project, responses: context.order?.count ?? 2)
        let judged = canonical(submission, shownSwapped: context.swapped, order: context.order, attributes: project.settings.attributes)
        let createdAt = Clock.iso8601(milliseconds: now)
        let record = {
            try Self.record(
                db, assignmentID: assignmentID, context: context, judged: judged, submission: submission, createdAt: createdAt, now: now)
        }
        let stored: Int64?
        if context.kind == .normal, project.settings.overlapRule.isAdaptive {
            stored = try db.atomically {
                guard let id = try record() else { return nil }
                try PairDemand.settle(db, project: project, pairID: context.pair)
                return id
            }
        } else {
            stored = try record()
        }
        guard let id = stored else {
            // Completed by a retry of this submit that committed first, or reclaimed as expired.
            let state = try db.queryFirst("SELECT state FROM assignments WHERE id = ?", [.int(Int64(assignmentID))]) {
                AssignmentState(rawValue: $0.string(0))
            }
            guard state == .completed else { throw Refusal.expired }
            return (try firstJudgement(db, assignmentID: assignmentID), true, project)
        }
        let annotation = Annotation(
            id: Int(id), assignmentID: assignmentID, externalPairID: context.externalPairID, kind: context.kind, choice: judged.choice,
            strength: submission.strength, aspects: judged.aspects, rationale: submission.rationale, shownSwapped: context.swapped,
            durationMilliseconds: submission.durationMilliseconds, createdAt: createdAt, ranking: judged.ranking, ratings: judged.ratings,
            rewrite: judged.rewrite, shownOrder: context.order)
        return (annotation, false, project)
    }

    /// The judgement stored for an assignment that is completed.
    static func firstJudgement(_ db: any Database, assignmentID: Int) throws -> Annotation {
        guard let existing = try find(db, assignmentID: assignmentID) else { throw Refusal.noSuchAssignment }
        return existing
    }

    /// What a submit needs of its assignment, its pair and its project, in one statement.
    struct SubmissionContext {
        var project: Project
        var pair: Int64
        var kind: AssignmentKind
        var swapped: Bool
        var state: AssignmentState?
        var expires: Int64
        var order: [Int]?
        var externalPairID: String
        var user: Int
    }

    static func submissionContext(_ db: any Database, assignmentID: Int, userID: Int) throws -> SubmissionContext {
        let base = Int32(Projects.columnCount)
        guard
            let (context, user) = try db.queryFirst(
                """
                SELECT \(Projects.qualifiedColumns), a.user_id, a.pair_id, a.kind, a.shown_swapped, a.state, a.expires_at, a.shown_order,
                       pr.external_id
                FROM assignments a JOIN pairs pr ON pr.id = a.pair_id JOIN projects p ON p.id = a.project_id WHERE a.id = ?
                """, [.int(Int64(assignmentID))],
                { row in
                    (
                        SubmissionContext(
                            project: Projects.decode(row), pair: row.int64(base + 1),
                            kind: AssignmentKind(rawValue: row.string(base + 2)) ?? .normal, swapped: row.bool(base + 3),
                            state: AssignmentState(rawValue: row.string(base + 4)), expires: row.int64(base + 5),
                            order: IndexList.parse(row.optionalString(base + 6)), externalPairID: row.string(base + 7), user: row.int(base)),
                        row.int(base)
                    )
                })
        else { throw Refusal.noSuchAssignment }
        guard user == userID else { throw Refusal.notYours }
        return context
    }

    /// Completes the assignment if it is still leased and stores the judgement;
    /// returns the annotation's id, or nil if the assignment was no longer leased.
    /// PostgreSQL: one statement (the completion feeds the insert); SQLite: two,
    /// inside the writer's transaction.
    static func record(
        _ db: any Database, assignmentID: Int, context: SubmissionContext, judged: Canonical, submission: Submission,
        createdAt: String, now: Int64
    ) throws -> Int64? {
        let judgement: [SQLValue] =
            [
                .text(judged.choice.rawValue), SQLValue(submission.strength),
                SQLValue(judged.aspects.map { JSONValue.object($0).jsonText }),
                SQLValue(submission.rationale), SQLValue(submission.durationMilliseconds), .text(createdAt),
            ] + judged.taskValues
        let columns = """
            assignment_id, project_id, pair_id, user_id, kind, shown_swapped, shown_order,
            choice, strength, aspects, rationale, duration_ms, created_at, ranking, ratings, rewrite, rewrite_base
            """
        if db.dialect == .postgres {
            return try db.queryFirst(
                """
                WITH done AS (
                    UPDATE assignments SET state = 'completed', completed_at = ? WHERE id = ? AND state = 'leased'
                    RETURNING id, project_id, pair_id, user_id, kind, shown_swapped, shown_order
                )
                INSERT INTO annotations (\(columns))
                SELECT id, project_id, pair_id, user_id, kind, shown_swapped, shown_order,
                       CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT),
                       CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT)
                FROM done
                RETURNING id
                """, [.int(now), .int(Int64(assignmentID))] + judgement, { $0.int64(0) })
        }
        guard
            try db.run(
                "UPDATE assignments SET state = 'completed', completed_at = ? WHERE id = ? AND state = 'leased'",
                [.int(now), .int(Int64(assignmentID))]) == 1
        else { return nil }
        let assignment: [SQLValue] = [
            .int(Int64(assignmentID)), .int(Int64(context.project.id)), .int(context.pair), .int(Int64(context.user)),
            .text(context.kind.rawValue), SQLValue(context.swapped), SQLValue(context.order.map(IndexList.text)),
        ]
        return try db.insert(
            "INSERT INTO annotations (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", assignment + judgement)
    }

    /// An assignment of `userID` with what submitting and changing need.
    static func assignmentRow(
        _ db: any Database, assignmentID: Int, userID: Int
    ) throws
        -> (project: Int, pair: Int64, user: Int, kind: String, swapped: Bool, state: AssignmentState?, expires: Int64, order: [Int]?)
    {
        guard
            let row = try db.queryFirst(
                "SELECT project_id, pair_id, user_id, kind, shown_swapped, state, expires_at, shown_order FROM assignments WHERE id = ?",
                [.int(Int64(assignmentID))],
                { row in
                    (
                        project: row.int(0), pair: row.int64(1), user: row.int(2), kind: row.string(3), swapped: row.bool(4),
                        state: AssignmentState(rawValue: row.string(5)), expires: row.int64(6),
                        order: IndexList.parse(row.optionalString(7))
                    )
                })
        else { throw Refusal.noSuchAssignment }
        guard row.user == userID else { throw Refusal.notYours }
        return row
    }

    /// The project, with the submission checked against its rules.
    static func check(_ db: any Database, _ submission: Submission, projectID: Int, responses: Int) throws -> Project {
        guard let project = try Projects.find(db, id: projectID) else { throw Refusal.noSuchAssignment }
        try validate(submission, against: project, responses: responses)
        return project
    }

    /// The submission checked against the project's rules (a refusal says why).
    static func validate(_ submission: Submission, against project: Project, responses: Int) throws(Refusal) {
        do {
            try submission.check(against: project.settings, responses: responses)
        } catch {
            throw Refusal.invalid(error)
        }
    }

    /// A submission relative to the stored pair or task.
    struct Canonical {
        var choice: Choice
        var aspects: JSONObject?
        var ranking: Ranking?
        var ratings: Ratings?
        var rewrite: Rewrite?
        var attributes: [String]

        /// ranking, ratings, rewrite, rewrite_base.
        var taskValues: [SQLValue] {
            [
                SQLValue(ranking.map { $0.json.jsonText }), SQLValue(ratings.map { $0.json(attributes: attributes).jsonText }),
                SQLValue(rewrite?.text), SQLValue(rewrite?.base),
            ]
        }
    }

    /// The submission relative to the stored pair (left/right → A/B) or task
    /// (positions → indices). A task's `choice` is what it implies for responses
    /// 0 and 1 (ranking: their order; ratings: their mean scores).
    static func canonical(_ submission: Submission, shownSwapped: Bool, order: [Int]?, attributes: [String]) -> Canonical {
        let order = order ?? (shownSwapped ? [1, 0] : [0, 1])
        var result = Canonical(
            choice: Choice(shown: submission.choice, shownSwapped: shownSwapped), aspects: nil,
            rewrite: submission.rewrite.map { Rewrite(base: order[min($0.base, order.count - 1)], text: $0.text) }, attributes: attributes)
        if let ranking = submission.ranking {
            let canonical = ranking.mapped(order)
            result.ranking = canonical
            result.choice = canonical.implied(0, 1, count: order.count)
        } else if let ratings = submission.ratings {
            let canonical = ratings.mapped(order)
            result.ratings = canonical
            let (a, b) = (canonical.mean(0, attributes: attributes), canonical.mean(1, attributes: attributes))
            result.choice = Choice.comparing(a, b)
        } else if !submission.aspects.isEmpty {
            result.aspects = JSONObject(
                submission.aspects.map {
                    (key: $0.name, value: .string(Choice(shown: $0.choice, shownSwapped: shownSwapped).rawValue))
                })
        }
        return result
    }

    /// Changes the judgement on one of `userID`'s completed assignments while its
    /// lease lasts: the annotation row takes the new judgement (so agreement and
    /// exports use the final one) and the old one is kept in `annotation_revisions`.
    /// Sending the current judgement again changes nothing.
    public static func revise(
        _ db: any Database, assignmentID: Int, userID: Int, submission: Submission, now: Int64
    ) throws -> (annotation: Annotation, changed: Bool, projectID: Int) {
        try RowLocks.annotator(db, userID: userID)
        let row = try assignmentRow(db, assignmentID: assignmentID, userID: userID)
        guard row.state == .completed, let current = try find(db, assignmentID: assignmentID) else { throw Refusal.notJudged }
        guard row.expires > now else { throw Refusal.tooLateToChange }
        let project = try check(db, submission, projectID: row.project, responses: row.order?.count ?? 2)
        let judged = canonical(submission, shownSwapped: row.swapped, order: row.order, attributes: project.settings.attributes)
        if judged.choice == current.choice, submission.strength == current.strength, judged.aspects == current.aspects,
            submission.rationale == current.rationale, judged.ranking == current.ranking, judged.ratings == current.ratings,
            judged.rewrite == current.rewrite
        {
            return (current, false, row.project)
        }
        try db.run(
            """
            INSERT INTO annotation_revisions (annotation_id, choice, strength, aspects, rationale, duration_ms, created_at, replaced_at,
                ranking, ratings, rewrite, rewrite_base)
            SELECT id, choice, strength, aspects, rationale, duration_ms, created_at, ?, ranking, ratings, rewrite, rewrite_base
            FROM annotations WHERE id = ?
            """, [.int(now), .int(Int64(current.id))])
        try db.run(
            """
            UPDATE annotations SET choice = ?, strength = ?, aspects = ?, rationale = ?, duration_ms = ?, created_at = ?,
                ranking = ?, ratings = ?, rewrite = ?, rewrite_base = ?
            WHERE id = ?
            """,
            [
                .text(judged.choice.rawValue), SQLValue(submission.strength),
                SQLValue(judged.aspects.map { JSONValue.object($0).jsonText }),
                SQLValue(submission.rationale), SQLValue(submission.durationMilliseconds), .text(Clock.iso8601(milliseconds: now)),
            ] + judged.taskValues + [.int(Int64(current.id))])
        if row.kind == AssignmentKind.normal.rawValue { try PairDemand.settle(db, project: project, pairID: row.pair) }
        guard let annotation = try find(db, assignmentID: assignmentID) else { throw Refusal.noSuchAssignment }
        return (annotation, true, row.project)
    }

    /// The annotation recorded for an assignment.
    public static func find(_ db: any Database, assignmentID: Int) throws -> Annotation? {
        try db.queryFirst(
            """
            SELECT n.id, n.assignment_id, p.external_id, n.kind, n.choice, n.strength, n.aspects, n.rationale, n.shown_swapped,
                   n.duration_ms, n.created_at, n.ranking, n.ratings, n.rewrite, n.rewrite_base, n.shown_order
            FROM annotations n JOIN pairs p ON p.id = n.pair_id WHERE n.assignment_id = ?
            """, [.int(Int64(assignmentID))], decode)
    }

    static func decode(_ row: any Row) -> Annotation {
        Annotation(
            id: row.int(0), assignmentID: row.optionalInt(1), externalPairID: row.string(2),
            kind: AssignmentKind(rawValue: row.string(3)) ?? .normal, choice: Choice(rawValue: row.string(4)) ?? .tie,
            strength: row.optionalInt(5), aspects: row.optionalString(6).flatMap { try? JSONValue.parse($0).objectValue },
            rationale: row.optionalString(7), shownSwapped: row.isNull(8) ? nil : row.bool(8),
            durationMilliseconds: row.optionalInt(9), createdAt: row.string(10),
            ranking: Ranking.stored(row.optionalString(11)), ratings: Ratings.stored(row.optionalString(12)),
            rewrite: row.optionalString(13).map { Rewrite(base: row.optionalInt(14) ?? 0, text: $0) },
            shownOrder: IndexList.parse(row.optionalString(15)))
    }
}
