import JSON
public import Storage

/// Study links: an admin makes a study for a project; a participant arriving
/// with a platform id joins (or resumes) it; `next` follows the study's rules
/// (screener first, a fixed number of judgements, a time limit); an admin
/// approves or rejects their work, and exports the list for payment.
public struct StudyService: Sendable {
    let store: ArbiterStore
    let now: @Sendable () -> Int64

    public init(store: ArbiterStore, now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.now = now
    }

    /// What making a study takes, validated once whatever the door.
    public struct Request: Sendable {
        public var name: String
        public var maxParticipants: Int
        public var judgementsPerParticipant: Int
        public var timeLimitMinutes = 60
        public var screenerPairs = 0
        public var screenerMinCorrect = 0
        /// Shown at the end; a random one when nil.
        public var completionCode: String?
        /// Where to send a participant when done (`{code}` replaced); "" shows the code only.
        public var returnURL = ""

        public init(name: String, maxParticipants: Int, judgementsPerParticipant: Int) {
            self.name = name
            self.maxParticipants = maxParticipants
            self.judgementsPerParticipant = judgementsPerParticipant
        }
    }

    /// Makes a study for a project; audited.
    public func create(projectID: Int, _ request: Request, actor: Int, address: String) async throws -> Study {
        let name = request.name.trimmingWhitespace()
        guard (1...200).contains(name.count) else { throw ValidationError("name: 1 to 200 characters") }
        guard (1...100_000).contains(request.maxParticipants) else { throw ValidationError("max_participants: 1 to 100000") }
        guard (1...10_000).contains(request.judgementsPerParticipant) else {
            throw ValidationError("judgements_per_participant: 1 to 10000")
        }
        guard (1...10_080).contains(request.timeLimitMinutes) else { throw ValidationError("time_limit_minutes: 1 to 10080 (a week)") }
        guard (0...100).contains(request.screenerPairs) else { throw ValidationError("screener_pairs: 0 to 100") }
        guard (0...request.screenerPairs).contains(request.screenerMinCorrect) else {
            throw ValidationError("screener_min_correct: 0 to screener_pairs")
        }
        let code =
            request.completionCode ?? String(Base64URL.encode(Digest.randomBytes(6)).uppercased().filter { $0.isLetter || $0.isNumber })
        guard (4...64).contains(code.count), code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else {
            throw ValidationError("completion_code: 4 to 64 letters, digits, - or _")
        }
        if !request.returnURL.isEmpty {
            let lower = request.returnURL.lowercased()
            guard lower.hasPrefix("https://") || lower.hasPrefix("http://"), request.returnURL.utf8.count <= 2048,
                !request.returnURL.contains(where: { $0 == " " || $0 == "\"" || $0 == "<" || $0 == ">" || $0.isNewline })
            else { throw ValidationError("return_url: an http(s) URL of at most 2048 bytes") }
        }
        let now = self.now()
        return try await store.pool.write { db in
            guard let project = try Projects.find(db, id: projectID) else { throw ServiceError.noSuchProject }
            if request.screenerPairs > 0 {
                guard project.settings.kind == .pairwise else {
                    throw ValidationError("screener_pairs: a screener needs a pairwise project")
                }
                let gold = try Assignments.goldPairs(db, projectID: projectID)
                guard gold >= request.screenerPairs else {
                    throw ValidationError("screener_pairs: the project has \(gold) gold pairs, fewer than \(request.screenerPairs)")
                }
            }
            var study = Study(
                id: 0, projectID: projectID, name: name, token: Base64URL.encode(Digest.randomBytes(16)),
                maxParticipants: request.maxParticipants, judgementsPerParticipant: request.judgementsPerParticipant,
                timeLimitMinutes: request.timeLimitMinutes, screenerPairs: request.screenerPairs,
                screenerMinCorrect: request.screenerMinCorrect, completionCode: code, returnURL: request.returnURL, createdAt: now,
                closedAt: nil)
            study.id = try Studies.create(db, study, createdBy: actor)
            try AuditLog.record(
                db, actor: actor, action: "study_created", target: "study:\(study.id)",
                details: JSONObjectText(["project": "\(projectID)", "name": name]), address: address, now: now)
            return study
        }
    }

    public func list(projectID: Int) async throws -> [(study: Study, places: Int)] {
        try await store.pool.read { db in
            guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
            return try Studies.list(db, projectID: projectID).map { ($0, try Studies.placesTaken(db, studyID: $0.id)) }
        }
    }

    /// A study's participants with their counts (for review and payment).
    public func participants(studyID: Int) async throws -> (Study, [Participant]) {
        try await store.pool.read { db in
            guard let study = try Studies.find(db, id: studyID) else { throw ServiceError.notFound("no such study") }
            return (study, try Studies.participants(db, studyID: studyID))
        }
    }

    /// Closes a study to new participants; audited.
    public func close(studyID: Int, actor: Int, address: String) async throws {
        let now = self.now()
        try await store.pool.write { db in
            guard try Studies.close(db, id: studyID, now: now) else { throw ServiceError.notFound("no such open study") }
            try AuditLog.record(db, actor: actor, action: "study_closed", target: "study:\(studyID)", address: address, now: now)
        }
    }

    // MARK: Participants

    /// Which platform sent the participant, from the link's query: Prolific's
    /// `PROLIFIC_PID` (with `STUDY_ID`, `SESSION_ID`), MTurk's `workerId` (with
    /// `assignmentId`, `hitId`), or a generic `participant`.
    public struct Arrival: Sendable {
        public var platform: String
        public var platformID: String
        public var details: [(String, String)]

        public init(query: [String: String]) throws {
            func id(_ value: String?) throws -> String? {
                guard let value else { return nil }
                guard (1...64).contains(value.count),
                    value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
                else { throw ValidationError("the participant id must be 1 to 64 letters, digits, - or _") }
                return value
            }
            if let prolific = try id(query["PROLIFIC_PID"]) {
                (platform, platformID) = ("prolific", prolific)
                details = ["STUDY_ID", "SESSION_ID"].compactMap { key in query[key].map { (key, String($0.prefix(64))) } }
            } else if let worker = try id(query["workerId"]) {
                guard query["assignmentId"] != "ASSIGNMENT_ID_NOT_AVAILABLE" else {
                    throw ValidationError("this is a preview: accept the HIT to start")
                }
                (platform, platformID) = ("mturk", worker)
                details = ["assignmentId", "hitId"].compactMap { key in query[key].map { (key, String($0.prefix(64))) } }
            } else if let generic = try id(query["participant"]) {
                (platform, platformID, details) = ("generic", generic, [])
            } else {
                throw ValidationError("the link has no participant id (PROLIFIC_PID, workerId or participant)")
            }
        }
    }

    /// Joins or resumes: the participant, their session's cookie token, and the study.
    public func join(
        token: String, arrival: Arrival, address: String
    ) async throws -> (participant: Participant, cookie: String, study: Study) {
        do {
            return try await joinOnce(token: token, arrival: arrival, address: address)
        } catch let error as ValidationError where error.message.hasSuffix("already exists") {
            // The same participant arriving twice at once (two tabs, two nodes): the
            // other made them; this one resumes them.
            return try await joinOnce(token: token, arrival: arrival, address: address)
        }
    }

    func joinOnce(
        token: String, arrival: Arrival, address: String
    ) async throws -> (participant: Participant, cookie: String, study: Study) {
        let now = self.now()
        return try await store.pool.write { db in
            guard let study = try Studies.find(db, token: token) else { throw ServiceError.notFound("no such study") }
            let scope = StudyScope(studyID: study.id, projectID: study.projectID, token: study.token)
            if var participant = try Studies.participant(db, studyID: study.id, platform: arrival.platform, platformID: arrival.platformID)
            {
                participant = try Self.advance(db, participant, study: study, now: now)
                let (cookie, _) = try Sessions.create(db, userID: participant.userID, address: address, now: now, study: scope)
                return (participant, cookie, study)
            }
            guard study.closedAt == nil else { throw ServiceError.conflict(code: "study_closed", message: "this study is closed") }
            guard try Studies.placesTaken(db, studyID: study.id) < study.maxParticipants else {
                throw ServiceError.conflict(code: "study_full", message: "this study has all the participants it wants")
            }
            let user = try Users.add(db, username: "\(arrival.platform)-\(arrival.platformID)@s\(study.id)", role: .annotator)
            // A members-only project lets its study's participants in.
            try db.run(
                """
                INSERT INTO project_members (project_id, user_id)
                SELECT CAST(? AS BIGINT), CAST(? AS BIGINT) WHERE EXISTS (SELECT 1 FROM project_members WHERE project_id = ?)
                """, [.int(Int64(study.projectID)), .int(Int64(user.id)), .int(Int64(study.projectID))])
            try Studies.addParticipant(
                db, studyID: study.id, platform: arrival.platform, platformID: arrival.platformID, userID: user.id,
                details: Self.detailsText(arrival.details), state: study.screenerPairs > 0 ? .screening : .judging, now: now)
            try AuditLog.record(
                db, actor: user.id, action: "study_joined", target: "study:\(study.id)",
                details: JSONObjectText(["platform": arrival.platform, "participant": arrival.platformID]), address: address, now: now)
            guard let participant = try Studies.participant(db, userID: user.id) else { throw ServiceError.notFound("no such participant") }
            let (cookie, _) = try Sessions.create(db, userID: user.id, address: address, now: now, study: scope)
            return (participant, cookie, study)
        }
    }

    static func detailsText(_ pairs: [(String, String)]) -> String {
        JSONValue.object(JSONObject(pairs.map { (key: $0.0, value: .string($0.1)) })).jsonText
    }

    /// Moves a participant on by what they did and the clock: the screener
    /// decided once its pairs are judged, done at the study's count of judgements
    /// after it, out of time past the limit.
    static func advance(_ db: any Database, _ participant: Participant, study: Study, now: Int64) throws -> Participant {
        var participant = participant
        var next = participant.state
        switch participant.state {
        case .screening where participant.screenerJudged >= study.screenerPairs:
            next = participant.screenerCorrect >= study.screenerMinCorrect ? .judging : .screenedOut
        case .judging where participant.judgements - participant.screenerJudged >= study.judgementsPerParticipant:
            next = .completed
        default: break
        }
        if !next.isFinal, now - participant.startedAt > Int64(study.timeLimitMinutes) * 60_000 { next = .timedOut }
        if next == .judging, participant.judgements - participant.screenerJudged >= study.judgementsPerParticipant { next = .completed }
        if next != participant.state {
            try Studies.setState(db, participantID: participant.id, state: next, now: now)
            participant.state = next
            if next.isFinal { participant.finishedAt = now }
        }
        return participant
    }

    /// Where a study session's participant stands (and, when done, the code).
    public func status(scope: StudyScope, userID: Int) async throws -> (Study, Participant) {
        let now = self.now()
        return try await store.pool.write { db in
            guard let study = try Studies.find(db, id: scope.studyID), let participant = try Studies.participant(db, userID: userID) else {
                throw ServiceError.notFound("no such study")
            }
            return (study, try Self.advance(db, participant, study: study, now: now))
        }
    }

    /// `next` for a participant: screener pairs first, then the project's pairs
    /// until their count is reached; nil (204) when they are done, out or out of time.
    public func next(scope: StudyScope, userID: Int, annotations: AnnotationService) async throws -> Assignment? {
        let (study, participant) = try await status(scope: scope, userID: userID)
        let now = self.now()
        switch participant.state {
        case .screening:
            let lease = try await store.pool.write { db in
                guard let project = try Projects.find(db, id: study.projectID) else { throw ServiceError.noSuchProject }
                return try Assignments.nextScreenerPair(
                    db, projectID: study.projectID, userID: userID, leaseSeconds: project.settings.leaseTTLSeconds, now: now)
            }
            if let lease { return lease }
            // No gold pair left to show (removed since): decide on what was judged.
            _ = try await store.pool.write { db in
                try Studies.setState(
                    db, participantID: participant.id,
                    state: participant.screenerCorrect >= study.screenerMinCorrect ? .judging : .screenedOut, now: now)
            }
            return try await next(scope: scope, userID: userID, annotations: annotations)
        case .judging:
            return try await annotations.next(projectID: study.projectID, userID: userID)
        case .completed, .screenedOut, .timedOut:
            return nil
        }
    }

    // MARK: Review

    /// Approves or rejects a participant's work; rejecting also quarantines them
    /// in the project (their judgements leave exports and aggregates). Audited.
    public func review(studyID: Int, participantID: Int, approve: Bool, comment: String, actor: Int, address: String) async throws {
        let now = self.now()
        try await store.pool.write { db in
            guard let study = try Studies.find(db, id: studyID), let participant = try Studies.participant(db, id: participantID),
                participant.studyID == studyID
            else { throw ServiceError.notFound("no such participant in this study") }
            try Studies.setReview(db, participantID: participantID, review: approve ? "approved" : "rejected")
            try RaterStatus.set(
                db, projectID: study.projectID, userID: participant.userID, decision: approve ? .ok : .quarantined,
                comment: approve ? "" : (comment.isEmpty ? "study work rejected" : comment), by: actor, now: now)
            if !approve {
                try WebhookEvents.raterQuarantined(
                    db, projectID: study.projectID, rater: participant.username, comment: comment.isEmpty ? "study work rejected" : comment,
                    by: actor, now: now)
            }
            try AuditLog.record(
                db, actor: actor, action: approve ? "study_participant_approved" : "study_participant_rejected",
                target: "study:\(studyID)/\(participant.platformID)", details: JSONObjectText(["comment": comment]), address: address,
                now: now)
        }
    }
}
