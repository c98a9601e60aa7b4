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

    /// What the annotator who made it gets back: no pair id and no kind (see
    /// ``Assignment/json``).
    public var json: JSONValue {
        [
            "id": .int(Int64(id)), "assignment_id": JSONValue(assignmentID),
            "choice": .string(choice.rawValue), "strength": JSONValue(strength),
            "aspects": aspects.map { .object($0) } ?? .null, "rationale": JSONValue(rationale),
            "shown_swapped": shownSwapped.map { .bool($0) } ?? .null, "duration_ms": JSONValue(durationMilliseconds),
            "created_at": .string(createdAt),
        ]
    }
}

/// What an annotator sends: `{"choice":"left|right|tie|both_bad", "strength"?, "aspects"?,
/// "rationale"?, "duration_ms"?}`, as shown on screen.
public struct Submission: Sendable, Equatable {
    public var choice: Choice.Shown
    public var strength: Int?
    public var aspects: [(name: String, choice: Choice.Shown)]
    public var rationale: String?
    public var durationMilliseconds: Int?

    public static func == (lhs: Submission, rhs: Submission) -> Bool {
        lhs.choice == rhs.choice && lhs.strength == rhs.strength && lhs.rationale == rhs.rationale
            && lhs.durationMilliseconds == rhs.durationMilliseconds
            && lhs.aspects.map(\.name) == rhs.aspects.map(\.name) && lhs.aspects.map(\.choice) == rhs.aspects.map(\.choice)
    }

    static let known: Set<String> = ["choice", "strength", "aspects", "rationale", "duration_ms"]
    static let maxRationaleBytes = 20_000

    /// Parses a request body: fields, types and ranges. Runs where the request is
    /// handled, never on the writer; the project's own rules are ``check(against:)``.
    public static func parse(_ value: JSONValue) throws(ValidationError) -> Submission {
        guard let object = value.objectValue else { throw ValidationError("body: expected a JSON object") }
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw ValidationError("\(unknown): unknown field (expected \(known.sorted().joined(separator: ", ")))")
        }
        guard let text = object["choice"]?.stringValue, let choice = Choice.Shown(rawValue: text) else {
            throw ValidationError("choice: expected \"left\", \"right\", \"tie\" or \"both_bad\"")
        }
        var submission = Submission(choice: choice, strength: nil, aspects: [], rationale: nil, durationMilliseconds: nil)
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

    /// Checks the submission against the project's rules (ties, strength, aspects,
    /// rationale): a few comparisons, done inside the write that stores it.
    public func check(against settings: ProjectSettings) throws(ValidationError) {
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
        if settings.rationaleRequired && (rationale?.trimmingWhitespace().isEmpty ?? true) {
            throw ValidationError("rationale: required in this project")
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
        if row.state == "completed", let existing = try find(db, assignmentID: assignmentID) {
            return (existing, true, row.project)
        }
        guard row.state == "leased", row.expires > now else { throw Refusal.expired }
        // Still leased once the row is ours: another annotator's `next` may have
        // reclaimed it as expired (its clock a little ahead) on another node.
        guard try db.run("UPDATE assignments SET state = 'completed', completed_at = ? WHERE id = ? AND state = 'leased'",
                         [.int(now), .int(Int64(assignmentID))]) == 1 else { throw Refusal.expired }
        let project = try check(db, submission, projectID: row.project)
        let (choice, aspects) = canonical(submission, shownSwapped: row.swapped)
        let createdAt = Clock.iso8601(milliseconds: now)
        try db.run(
            """
            INSERT INTO annotations (assignment_id, project_id, pair_id, user_id, kind, choice, strength, aspects, rationale,
                shown_swapped, duration_ms, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .int(Int64(assignmentID)), .int(Int64(row.project)), .int(row.pair), .int(Int64(userID)), .text(row.kind),
                .text(choice.rawValue), SQLValue(submission.strength), SQLValue(aspects.map { JSONValue.object($0).jsonText }),
                SQLValue(submission.rationale), SQLValue(row.swapped), SQLValue(submission.durationMilliseconds), .text(createdAt),
            ])
        if row.kind == AssignmentKind.normal.rawValue { try PairDemand.settle(db, project: project, pairID: row.pair) }
        guard let annotation = try find(db, assignmentID: assignmentID) else { throw Refusal.noSuchAssignment }
        return (annotation, false, row.project)
    }

    /// An assignment of `userID` with what submitting and changing need.
    static func assignmentRow(_ db: any Database, assignmentID: Int, userID: Int) throws
        -> (project: Int, pair: Int64, user: Int, kind: String, swapped: Bool, state: String, expires: Int64) {
        guard let row = try db.queryFirst(
            "SELECT project_id, pair_id, user_id, kind, shown_swapped, state, expires_at FROM assignments WHERE id = ?",
            [.int(Int64(assignmentID))], { row in
                (project: row.int(0), pair: row.int64(1), user: row.int(2), kind: row.string(3), swapped: row.bool(4),
                 state: row.string(5), expires: row.int64(6))
            })
        else { throw Refusal.noSuchAssignment }
        guard row.user == userID else { throw Refusal.notYours }
        return row
    }

    /// The project, with the submission checked against its rules.
    static func check(_ db: any Database, _ submission: Submission, projectID: Int) throws -> Project {
        guard let project = try ProjectRepository.find(db, id: projectID) else { throw Refusal.noSuchAssignment }
        do {
            try submission.check(against: project.settings)
        } catch {
            throw Refusal.invalid(error)
        }
        return project
    }

    /// The submission relative to the stored pair (left/right → A/B).
    static func canonical(_ submission: Submission, shownSwapped: Bool) -> (choice: Choice, aspects: JSONObject?) {
        let choice = Choice(shown: submission.choice, shownSwapped: shownSwapped)
        guard !submission.aspects.isEmpty else { return (choice, nil) }
        return (choice, JSONObject(submission.aspects.map { (key: $0.name, value: .string(Choice(shown: $0.choice, shownSwapped: shownSwapped).rawValue)) }))
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
        guard row.state == "completed", let current = try find(db, assignmentID: assignmentID) else { throw Refusal.notJudged }
        guard row.expires > now else { throw Refusal.tooLateToChange }
        let project = try check(db, submission, projectID: row.project)
        let (choice, aspects) = canonical(submission, shownSwapped: row.swapped)
        if choice == current.choice, submission.strength == current.strength, aspects == current.aspects, submission.rationale == current.rationale {
            return (current, false, row.project)
        }
        try db.run(
            """
            INSERT INTO annotation_revisions (annotation_id, choice, strength, aspects, rationale, duration_ms, created_at, replaced_at)
            SELECT id, choice, strength, aspects, rationale, duration_ms, created_at, ? FROM annotations WHERE id = ?
            """, [.int(now), .int(Int64(current.id))])
        try db.run(
            "UPDATE annotations SET choice = ?, strength = ?, aspects = ?, rationale = ?, duration_ms = ?, created_at = ? WHERE id = ?",
            [
                .text(choice.rawValue), SQLValue(submission.strength), SQLValue(aspects.map { JSONValue.object($0).jsonText }),
                SQLValue(submission.rationale), SQLValue(submission.durationMilliseconds), .text(Clock.iso8601(milliseconds: now)),
                .int(Int64(current.id)),
            ])
        if row.kind == AssignmentKind.normal.rawValue { try PairDemand.settle(db, project: project, pairID: row.pair) }
        guard let annotation = try find(db, assignmentID: assignmentID) else { throw Refusal.noSuchAssignment }
        return (annotation, true, row.project)
    }

    /// The annotation recorded for an assignment.
    public static func find(_ db: any Database, assignmentID: Int) throws -> Annotation? {
        try db.queryFirst(
            """
            SELECT n.id, n.assignment_id, p.external_id, n.kind, n.choice, n.strength, n.aspects, n.rationale, n.shown_swapped,
                   n.duration_ms, n.created_at
            FROM annotations n JOIN pairs p ON p.id = n.pair_id WHERE n.assignment_id = ?
            """, [.int(Int64(assignmentID))], decode)
    }

    static func decode(_ row: any Row) -> Annotation {
        Annotation(
            id: row.int(0), assignmentID: row.optionalInt(1), externalPairID: row.string(2),
            kind: AssignmentKind(rawValue: row.string(3)) ?? .normal, choice: Choice(rawValue: row.string(4)) ?? .tie,
            strength: row.optionalInt(5), aspects: row.optionalString(6).flatMap { try? JSONValue.parse($0).objectValue },
            rationale: row.optionalString(7), shownSwapped: row.isNull(8) ? nil : row.bool(8),
            durationMilliseconds: row.optionalInt(9), createdAt: row.string(10))
    }
}
