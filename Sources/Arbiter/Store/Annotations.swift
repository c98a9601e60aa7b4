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

    /// What the annotator who made it gets back: no pair id and no kind (see
    /// ``Assignment/json``). A task's ranking, ratings and rewrite base are given
    /// as shown (positions on screen), as they were sent.
    public var json: JSONValue {
        var object: JSONObject = [
            "id": .int(Int64(id)), "assignment_id": JSONValue(assignmentID),
            "choice": .string(choice.rawValue), "strength": JSONValue(strength),
            "aspects": aspects.map { .object($0) } ?? .null, "rationale": JSONValue(rationale),
            "shown_swapped": shownSwapped.map { .bool($0) } ?? .null, "duration_ms": JSONValue(durationMilliseconds),
            "created_at": .string(createdAt),
        ]
        let order = shownOrder ?? [0, 1]
        var position = Array(order.indices)
        for (shown, index) in order.enumerated() where index < position.count { position[index] = shown }
        if let ranking { object["ranking"] = ranking.mapped(position).json }
        if let ratings { object["ratings"] = ratings.shown(order).json(attributes: []) }
        if let rewrite {
            let base =
                shownOrder == nil
                ? ((shownSwapped ?? false) ? 1 - rewrite.base : rewrite.base) : position[min(rewrite.base, position.count - 1)]
            object["rewrite"] = ["base": .int(Int64(base)), "text": .string(rewrite.text)]
        }
        return .object(object)
    }
}

/// What an annotator sends, as shown on screen: a pair's `{"choice":"left|right|tie|both_bad",
/// "strength"?, "aspects"?}`, a ranking task's `{"ranking":[positions, best first]}` or a
/// rating task's `{"ratings":[{attribute: score}, … per position]}`; with any of
/// them `"rationale"?`, `"duration_ms"?` and `"rewrite"?: {"base": position, "text"}`.
public struct Submission: Sendable, Equatable {
    /// A pair's choice (ranking and rating tasks: `.tie`, unused).
    public var choice: Choice.Shown
    public var strength: Int?
    public var aspects: [(name: String, choice: Choice.Shown)]
    public var rationale: String?
    public var durationMilliseconds: Int?
    /// A ranking task's order, by position on screen.
    public var ranking: Ranking? = nil
    /// A rating task's scores, by position on screen.
    public var ratings: Ratings? = nil
    /// A rewrite; `base` is a position on screen (pairs: 0 left, 1 right).
    public var rewrite: Rewrite? = nil

    /// What kind of task the body answers.
    public var answers: TaskKind { ranking != nil ? .ranking : ratings != nil ? .rating : .pairwise }

    public static func == (lhs: Submission, rhs: Submission) -> Bool {
        lhs.choice == rhs.choice && lhs.strength == rhs.strength && lhs.rationale == rhs.rationale
            && lhs.durationMilliseconds == rhs.durationMilliseconds
            && lhs.aspects.map(\.name) == rhs.aspects.map(\.name) && lhs.aspects.map(\.choice) == rhs.aspects.map(\.choice)
            && lhs.ranking == rhs.ranking && lhs.ratings == rhs.ratings && lhs.rewrite == rhs.rewrite
    }

    static let known: Set<String> = ["choice", "strength", "aspects", "rationale", "duration_ms", "ranking", "ratings", "rewrite"]
    static let maxRationaleBytes = 20_000

    /// Parses a request body: fields, types and ranges. Runs where the request is
    /// handled, never on the writer; the project's own rules are ``check(against:)``.
    public static func parse(_ value: JSONValue) throws(ValidationError) -> Submission {
        guard let object = value.objectValue else { throw ValidationError("body: expected a JSON object") }
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw ValidationError("\(unknown): unknown field (expected \(known.sorted().joined(separator: ", ")))")
        }
        let answers = ["choice", "ranking", "ratings"].filter { object[$0] != nil && object[$0] != .null }
        guard answers.count <= 1 else { throw ValidationError("\(answers.joined(separator: " and ")): send one of them") }
        var submission = Submission(choice: .tie, strength: nil, aspects: [], rationale: nil, durationMilliseconds: nil)
        if answers.first == "ranking", let value = object["ranking"] {
            submission.ranking = try Ranking.parse(value)
        } else if answers.first == "ratings", let value = object["ratings"] {
            submission.ratings = try Ratings.parse(value)
        } else {
            guard let text = object["choice"]?.stringValue, let shown = Choice.Shown(rawValue: text) else {
                throw ValidationError(
                    "choice: expected \"left\", \"right\", \"tie\" or \"both_bad\" (or a task's \"ranking\" or \"ratings\")")
            }
            submission.choice = shown
        }
        let choice = submission.choice
        if let rewrite = object["rewrite"], rewrite != .null { submission.rewrite = try Rewrite.parse(rewrite) }
        if submission.answers != .pairwise {
            for field in ["strength", "aspects"] where object[field] != nil && object[field] != .null {
                throw ValidationError("\(field): only with a pair's choice")
            }
        }
        if let strength = object["strength"], strength != .null {
            guard let value = strength.intValue, (1...3).contains(value) else { throw ValidationError("strength: expected 1, 2 or 3") }
            guard choice == .left || choice == .right else { throw ValidationError("strength: only with left or right") }
            submission.strength = Int(value)
        }
        if let aspects = object["aspects"], aspects != .null {
            guard let map = aspects.objectValue else { throw ValidationError("aspects: expected an object") }
            for member in map {
                guard let text = member.value.stringValue, let aspectChoice = Choice.Shown(rawValue: text) else {
                    throw ValidationError("aspects.\(member.key): expected \"left\", \"right\", \"tie\" or \"both_bad\"")
                }
                submission.aspects.append((member.key, aspectChoice))
            }
        }
        if let rationale = object["rationale"], rationale != .null {
            guard let text = rationale.stringValue else { throw ValidationError("rationale: expected a string") }
            guard text.utf8.count <= maxRationaleBytes else { throw ValidationError("rationale: longer than \(maxRationaleBytes) bytes") }
            submission.rationale = text.isEmpty ? nil : text
        }
        if let duration = object["duration_ms"], duration != .null {
            guard let value = duration.intValue, value >= 0, value <= 86_400_000 else {
                throw ValidationError("duration_ms: expected an integer from 0 to 86400000")
            }
            submission.durationMilliseconds = Int(value)
        }
        return submission
    }

    /// Checks the submission against the project's rules (its kind, ties, strength,
    /// aspects, attributes and scale, rationale, rewrite) for a task of
    /// `responses` responses: a few comparisons, done inside the write that stores it.
    public func check(against settings: ProjectSettings, responses: Int = 2) throws(ValidationError) {
        guard answers == settings.kind else {
            switch settings.kind {
            case .pairwise: throw ValidationError("choice: this project judges pairs (send \"choice\", not a ranking or ratings)")
            case .ranking: throw ValidationError("ranking: this project ranks responses (send \"ranking\": positions, best first)")
            case .rating:
                throw ValidationError("ratings: this project rates responses (send \"ratings\": one object of scores per response)")
            }
        }
        if rewrite != nil && !settings.rewrite { throw ValidationError("rewrite: this project does not ask for rewrites") }
        if let rewrite, rewrite.base >= responses {
            throw ValidationError("rewrite.base: there are \(responses) responses (0 to \(responses - 1))")
        }
        if let ranking {
            guard ranking.covers(responses) else {
                throw ValidationError("ranking: expected every response's position once (0 to \(responses - 1)), best first")
            }
            if ranking.hasTies && !settings.allowTies { throw ValidationError("ranking: ties are not allowed in this project") }
        } else if let ratings {
            try ratings.check(attributes: settings.attributes, scale: settings.scaleMin...settings.scaleMax, count: responses)
        } else {
            try checkPair(against: settings)
        }
        if settings.rationaleRequired && (rationale?.trimmingWhitespace().isEmpty ?? true) {
            throw ValidationError("rationale: required in this project")
        }
    }

    /// A pair's own rules: ties, both bad, strength, aspects.
    private func checkPair(against settings: ProjectSettings) throws(ValidationError) {
        if choice == .tie && !settings.allowTies { throw ValidationError("choice: ties are not allowed in this project") }
        if choice == .bothBad && !settings.allowBothBad { throw ValidationError("choice: \"both bad\" is not allowed in this project") }
        if strength != nil && !settings.strengthEnabled { throw ValidationError("strength: this project does not ask for strength") }
        if let unknown = aspects.first(where: { !settings.aspects.contains($0.name) }) {
            throw ValidationError("aspects.\(unknown.name): not an aspect of this project")
        }
        if settings.strengthRequired && strength == nil && (choice == .left || choice == .right) {
            throw ValidationError("strength: required in this project (1, 2 or 3)")
        }
        if settings.aspectsRequired, let missing = settings.aspects.first(where: { name in !aspects.contains { $0.name == name } }) {
            throw ValidationError("aspects.\(missing): required in this project")
        }
    }

    /// Parses and checks in one step (tests, imports of single bodies).
    public static func parse(_ value: JSONValue, project: Project) throws(ValidationError) -> Submission {
        let submission = try parse(value)
        try submission.check(against: project.settings)
        return submission
    }
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
    /// whether it already existed (a repeated POST returns the first result), and its project.
    public static func submit(
        _ db: any Database, assignmentID: Int, userID: Int, submission: Submission, now: Int64
    ) throws -> (annotation: Annotation, replayed: Bool, projectID: Int) {
        try RowLocks.annotator(db, userID: userID)
        let row = try assignmentRow(db, assignmentID: assignmentID, userID: userID)
        if row.state == .completed, let existing = try find(db, assignmentID: assignmentID) {
            return (existing, true, row.project)
        }
        guard row.state == .leased, row.expires > now else { throw Refusal.expired }
        // Still leased once the row is ours: another annotator's `next` may have
        // reclaimed it as expired (its clock a little ahead) on another node.
        guard
            try db.run(
                "UPDATE assignments SET state = 'completed', completed_at = ? WHERE id = ? AND state = 'leased'",
                [.int(now), .int(Int64(assignmentID))]) == 1
        else { throw Refusal.expired }
        let project = try check(db, submission, projectID: row.project, responses: row.order?.count ?? 2)
        let judged = canonical(submission, shownSwapped: row.swapped, order: row.order, attributes: project.settings.attributes)
        let createdAt = Clock.iso8601(milliseconds: now)
        try db.run(
            """
            INSERT INTO annotations (assignment_id, project_id, pair_id, user_id, kind, choice, strength, aspects, rationale,
                shown_swapped, duration_ms, created_at, ranking, ratings, rewrite, rewrite_base, shown_order)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .int(Int64(assignmentID)), .int(Int64(row.project)), .int(row.pair), .int(Int64(userID)), .text(row.kind),
                .text(judged.choice.rawValue), SQLValue(submission.strength),
                SQLValue(judged.aspects.map { JSONValue.object($0).jsonText }),
                SQLValue(submission.rationale), SQLValue(row.swapped), SQLValue(submission.durationMilliseconds), .text(createdAt),
            ] + judged.taskValues + [SQLValue(row.order.map(IndexList.text))])
        if row.kind == AssignmentKind.normal.rawValue { try PairDemand.settle(db, project: project, pairID: row.pair) }
        guard let annotation = try find(db, assignmentID: assignmentID) else { throw Refusal.noSuchAssignment }
        return (annotation, false, row.project)
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
        guard let project = try ProjectRepository.find(db, id: projectID) else { throw Refusal.noSuchAssignment }
        do {
            try submission.check(against: project.settings, responses: responses)
        } catch {
            throw Refusal.invalid(error)
        }
        return project
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
