public import Storage

/// A study: a link for one project's recruited participants.
public struct Study: Sendable, Equatable {
    public var id: Int
    public var projectID: Int
    public var name: String
    public var token: String
    public var maxParticipants: Int
    public var judgementsPerParticipant: Int
    public var timeLimitMinutes: Int
    public var screenerPairs: Int
    public var screenerMinCorrect: Int
    public var completionCode: String
    public var returnURL: String
    public var createdAt: Int64
    public var closedAt: Int64?
}

/// Where a participant is in a study.
public enum ParticipantState: String, Sendable {
    case screening, judging, completed
    case screenedOut = "screened_out"
    case timedOut = "timed_out"

    /// No more work either way.
    public var isFinal: Bool { self == .completed || self == .screenedOut || self == .timedOut }
}

/// One participant: their platform id, the annotator identity bound to it, and
/// what they did.
public struct Participant: Sendable, Equatable {
    public var id: Int
    public var studyID: Int
    public var platform: String
    public var platformID: String
    public var userID: Int
    public var username: String
    public var details: String
    public var state: ParticipantState
    public var review: String
    public var startedAt: Int64
    public var finishedAt: Int64?
    /// Judgements given (screener included), and of the screener's gold pairs how many judged and right.
    public var judgements = 0
    public var screenerJudged = 0
    public var screenerCorrect = 0
}

/// `studies` and `study_participants` (migration 0023).
public enum Studies {
    static let columns = """
        id, project_id, name, token, max_participants, judgements_per_participant, time_limit_minutes, screener_pairs,
        screener_min_correct, completion_code, return_url, created_at, closed_at
        """

    static func study(_ row: any Row) -> Study {
        Study(
            id: row.int(0), projectID: row.int(1), name: row.string(2), token: row.string(3), maxParticipants: row.int(4),
            judgementsPerParticipant: row.int(5), timeLimitMinutes: row.int(6), screenerPairs: row.int(7), screenerMinCorrect: row.int(8),
            completionCode: row.string(9), returnURL: row.string(10), createdAt: row.int64(11),
            closedAt: row.isNull(12) ? nil : row.int64(12))
    }

    public static func create(_ db: any Database, _ study: Study, createdBy: Int?) throws -> Int {
        Int(
            try db.insert(
                """
                INSERT INTO studies (project_id, name, token, max_participants, judgements_per_participant, time_limit_minutes,
                    screener_pairs, screener_min_correct, completion_code, return_url, created_by, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .int(Int64(study.projectID)), .text(study.name), .text(study.token), .int(Int64(study.maxParticipants)),
                    .int(Int64(study.judgementsPerParticipant)), .int(Int64(study.timeLimitMinutes)), .int(Int64(study.screenerPairs)),
                    .int(Int64(study.screenerMinCorrect)), .text(study.completionCode), .text(study.returnURL),
                    createdBy.map { .int(Int64($0)) } ?? .null, .int(study.createdAt),
                ]))
    }

    public static func find(_ db: any Database, id: Int) throws -> Study? {
        try db.queryFirst("SELECT \(columns) FROM studies WHERE id = ?", [.int(Int64(id))], study)
    }

    public static func find(_ db: any Database, token: String) throws -> Study? {
        guard token.utf8.count <= 64 else { return nil }
        return try db.queryFirst("SELECT \(columns) FROM studies WHERE token = ?", [.text(token)], study)
    }

    public static func list(_ db: any Database, projectID: Int) throws -> [Study] {
        try db.query("SELECT \(columns) FROM studies WHERE project_id = ? ORDER BY id", [.int(Int64(projectID))], study)
    }

    /// Closes a study to new participants (those in it may finish).
    public static func close(_ db: any Database, id: Int, now: Int64) throws -> Bool {
        try db.run("UPDATE studies SET closed_at = ? WHERE id = ? AND closed_at IS NULL", [.int(now), .int(Int64(id))]) > 0
    }

    /// Participants who hold or held a place (screened out ones gave theirs back).
    public static func placesTaken(_ db: any Database, studyID: Int) throws -> Int {
        try db.queryFirst(
            "SELECT count(*) FROM study_participants WHERE study_id = ? AND state <> 'screened_out'", [.int(Int64(studyID))]
        ) { $0.int(0) } ?? 0
    }

    static let participantColumns = """
        sp.id, sp.study_id, sp.platform, sp.platform_id, sp.user_id, u.username, sp.details, sp.state, sp.review, sp.started_at,
        sp.finished_at,
        (SELECT count(*) FROM annotations n WHERE n.user_id = sp.user_id),
        (SELECT count(*) FROM annotations n WHERE n.user_id = sp.user_id AND n.kind = 'gold'),
        (SELECT count(*) FROM annotations n JOIN pairs p ON p.id = n.pair_id WHERE n.user_id = sp.user_id AND n.kind = 'gold'
                                                                           AND n.choice = p.gold)
        """

    static func participant(_ row: any Row) -> Participant {
        Participant(
            id: row.int(0), studyID: row.int(1), platform: row.string(2), platformID: row.string(3), userID: row.int(4),
            username: row.string(5), details: row.string(6), state: ParticipantState(rawValue: row.string(7)) ?? .judging,
            review: row.string(8), startedAt: row.int64(9), finishedAt: row.isNull(10) ? nil : row.int64(10), judgements: row.int(11),
            screenerJudged: row.int(12), screenerCorrect: row.int(13))
    }

    public static func participant(_ db: any Database, studyID: Int, platform: String, platformID: String) throws -> Participant? {
        try db.queryFirst(
            """
            SELECT \(participantColumns) FROM study_participants sp JOIN users u ON u.id = sp.user_id
            WHERE sp.study_id = ? AND sp.platform = ? AND sp.platform_id = ?
            """, [.int(Int64(studyID)), .text(platform), .text(platformID)], participant)
    }

    public static func participant(_ db: any Database, userID: Int) throws -> Participant? {
        try db.queryFirst(
            "SELECT \(participantColumns) FROM study_participants sp JOIN users u ON u.id = sp.user_id WHERE sp.user_id = ?",
            [.int(Int64(userID))], participant)
    }

    public static func participant(_ db: any Database, id: Int) throws -> Participant? {
        try db.queryFirst(
            "SELECT \(participantColumns) FROM study_participants sp JOIN users u ON u.id = sp.user_id WHERE sp.id = ?",
            [.int(Int64(id))], participant)
    }

    public static func participants(_ db: any Database, studyID: Int) throws -> [Participant] {
        try db.query(
            "SELECT \(participantColumns) FROM study_participants sp JOIN users u ON u.id = sp.user_id WHERE sp.study_id = ? ORDER BY sp.id",
            [.int(Int64(studyID))], participant)
    }

    public static func addParticipant(
        _ db: any Database, studyID: Int, platform: String, platformID: String, userID: Int, details: String, state: ParticipantState,
        now: Int64
    ) throws {
        try db.run(
            """
            INSERT INTO study_participants (study_id, platform, platform_id, user_id, details, state, started_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .int(Int64(studyID)), .text(platform), .text(platformID), .int(Int64(userID)), .text(details), .text(state.rawValue),
                .int(now),
            ])
    }

    public static func setState(_ db: any Database, participantID: Int, state: ParticipantState, now: Int64) throws {
        try db.run(
            "UPDATE study_participants SET state = ?, finished_at = ? WHERE id = ?",
            [.text(state.rawValue), state.isFinal ? .int(now) : .null, .int(Int64(participantID))])
    }

    public static func setReview(_ db: any Database, participantID: Int, review: String) throws {
        try db.run("UPDATE study_participants SET review = ? WHERE id = ?", [.text(review), .int(Int64(participantID))])
    }
}
