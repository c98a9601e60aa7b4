import HTTPServer
import JSON
import Storage

/// Study links: admins make and review studies; participants join from the link
/// (`/s/<token>`, a public page that posts here) and ask where they stand.
struct StudyRoutes: Sendable {
    let service: StudyService
    let accounts: AccountRoutes

    func register(on api: inout APIRouter) {
        api.add(.POST, "/api/projects/{id}/studies", .admin) { request, caller in
            let study = try await service.create(
                projectID: try request.parameters.int("id"), try Self.request(try await request.jsonBody()), actor: caller.user.id,
                address: request.remoteAddress)
            return .json(["study": study.json(places: 0)], status: .created)
        }
        api.add(.GET, "/api/projects/{id}/studies", .admin) { request, _ in
            let studies = try await service.list(projectID: try request.parameters.int("id"))
            return .json(["studies": .array(studies.map { $0.study.json(places: $0.places) })])
        }
        api.add(.POST, "/api/studies/{id}/close", .admin) { request, caller in
            try await service.close(studyID: try request.parameters.int("id"), actor: caller.user.id, address: request.remoteAddress)
            return Response(status: .noContent)
        }
        // For review and payment: JSON, or CSV with `?format=csv`.
        api.add(.GET, "/api/studies/{id}/participants", .admin) { request, _ in
            let (study, participants) = try await service.participants(studyID: try request.parameters.int("id"))
            switch request.queryItems["format"] {
            case nil, "json": return .json(["participants": .array(participants.map { $0.json(study) })])
            case "csv":
                var response = Response(
                    status: .ok, contentType: "text/csv; charset=utf-8", body: Array(Self.csv(study, participants).utf8))
                response.headers.add("Content-Disposition", "attachment; filename=\"study-\(study.id)-participants.csv\"")
                return response
            default: throw ValidationError("format: json or csv")
            }
        }
        api.add(.POST, "/api/studies/{id}/participants/{participant}/review", .admin) { request, caller in
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            if let unknown = object.keys.first(where: { $0 != "decision" && $0 != "comment" }) {
                throw ValidationError("\(unknown): unknown field (expected decision, comment)")
            }
            guard let decision = object["decision"]?.stringValue, decision == "approved" || decision == "rejected" else {
                throw ValidationError("decision: approved or rejected")
            }
            guard let comment = object["comment"].map({ $0.stringValue }) ?? "", comment.utf8.count <= 2000 else {
                throw ValidationError("comment: a string of at most 2000 bytes")
            }
            try await service.review(
                studyID: try request.parameters.int("id"), participantID: try request.parameters.int("participant"),
                approve: decision == "approved", comment: comment, actor: caller.user.id, address: request.remoteAddress)
            return .json(["review": .string(decision)])
        }
        // The participant's door: `{"token","query":{…the link's query…}}` → a session for this study only.
        api.addPublic(.POST, "/api/studies/join") { request in
            try AccountRoutes.requireJSONFromThisSite(request)
            guard let object = try await request.jsonBody().objectValue, let token = object["token"]?.stringValue,
                case .object(let query)? = object["query"]
            else { throw ValidationError("body: expected {\"token\", \"query\"}") }
            var items: [String: String] = [:]
            for (key, value) in query {
                guard let text = value.stringValue else { throw ValidationError("query: \(key) must be a string") }
                items[key] = text
            }
            let arrival = try StudyService.Arrival(query: items)
            let (participant, cookie, study) = try await service.join(token: token, arrival: arrival, address: request.remoteAddress)
            var response = Response.json([
                "project_id": .int(Int64(study.projectID)), "annotate_url": .string("/projects/\(study.projectID)/annotate"),
                "participant": [
                    "platform": .string(participant.platform), "platform_id": .string(participant.platformID),
                    "state": .string(participant.state.rawValue),
                ],
            ])
            response.headers.add("Set-Cookie", accounts.sessionCookie(cookie, for: request))
            return response
        }
        api.add(.GET, "/api/study", .everyone) { _, caller in
            guard let scope = caller.session?.study else { throw ServiceError.notFound("this session is not a study's") }
            let (study, participant) = try await service.status(scope: scope, userID: caller.user.id)
            return .json(Self.status(study, participant))
        }
    }

    /// A participant's view: never the screener's answers, only their own progress and, once done, the code.
    static func status(_ study: Study, _ participant: Participant) -> JSONValue {
        let done = participant.state == .completed
        // `{code}`, `{participant}` and what the platform sent (`{assignmentId}` for MTurk's
        // externalSubmit, `{STUDY_ID}`, …) — each percent-encoded, so none can add parameters.
        var returnURL = study.returnURL.replacing("{code}", with: FormEncoding.escape(study.completionCode))
        returnURL = returnURL.replacing("{participant}", with: FormEncoding.escape(participant.platformID))
        if case .object(let details)? = try? JSONValue.parse(Array(participant.details.utf8)) {
            for (key, value) in details {
                if let text = value.stringValue { returnURL = returnURL.replacing("{\(key)}", with: FormEncoding.escape(text)) }
            }
        }
        return [
            "study": [
                "name": .string(study.name), "judgements": .int(Int64(study.judgementsPerParticipant)),
                "project_id": .int(Int64(study.projectID)),
            ],
            "participant": [
                "platform": .string(participant.platform), "platform_id": .string(participant.platformID),
                "state": .string(participant.state.rawValue),
                "judged": .int(Int64(max(0, participant.judgements - participant.screenerJudged))),
                "screening": .bool(participant.state == .screening),
            ],
            "completion_code": done ? .string(study.completionCode) : .null,
            "return_url": done && !returnURL.isEmpty ? .string(returnURL) : .null,
        ]
    }

    static func request(_ body: JSONValue) throws -> StudyService.Request {
        guard let object = body.objectValue else { throw ValidationError("body: expected a JSON object") }
        let known = [
            "name", "max_participants", "judgements_per_participant", "time_limit_minutes", "screener_pairs", "screener_min_correct",
            "completion_code", "return_url",
        ]
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw ValidationError("\(unknown): unknown field (expected \(known.joined(separator: ", ")))")
        }
        func integer(_ key: String) throws -> Int? {
            guard let value = object[key], value != .null else { return nil }
            guard let number = value.intValue, let small = Int(exactly: number), abs(small) < 1_000_000_000 else {
                throw ValidationError("\(key): expected a whole number")
            }
            return small
        }
        guard let name = object["name"]?.stringValue else { throw ValidationError("name: expected a string") }
        guard let places = try integer("max_participants") else { throw ValidationError("max_participants: expected a whole number") }
        guard let count = try integer("judgements_per_participant") else {
            throw ValidationError("judgements_per_participant: expected a whole number")
        }
        var request = StudyService.Request(name: name, maxParticipants: places, judgementsPerParticipant: count)
        if let minutes = try integer("time_limit_minutes") { request.timeLimitMinutes = minutes }
        if let pairs = try integer("screener_pairs") { request.screenerPairs = pairs }
        if let correct = try integer("screener_min_correct") { request.screenerMinCorrect = correct }
        for key in ["completion_code", "return_url"] where object[key] != nil && object[key] != .null && object[key]?.stringValue == nil {
            throw ValidationError("\(key): expected a string")
        }
        request.completionCode = object["completion_code"]?.stringValue
        request.returnURL = object["return_url"]?.stringValue ?? ""
        return request
    }

    /// One row per participant, for the platform's payment page.
    static func csv(_ study: Study, _ participants: [Participant]) -> String {
        func field(_ text: String) -> String {
            // A leading = + - @ would be a formula in a spreadsheet.
            let safe = text.first.map { "=+-@".contains($0) } == true ? "'" + text : text
            return safe.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline })
                ? "\"" + safe.replacing("\"", with: "\"\"") + "\"" : safe
        }
        var lines = ["platform,platform_id,state,review,judgements,started_at,finished_at,minutes"]
        for p in participants {
            let minutes = p.finishedAt.map { String(format2(Double($0 - p.startedAt) / 60_000)) } ?? ""
            lines.append(
                [
                    p.platform, p.platformID, p.state.rawValue, p.json(study)["review"]?.stringValue ?? p.review, String(p.judgements),
                    Clock.iso8601(milliseconds: p.startedAt), p.finishedAt.map { Clock.iso8601(milliseconds: $0) } ?? "", minutes,
                ].map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func format2(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }
}

extension Study {
    /// A study as admins see it, with its link.
    func json(places: Int) -> JSONValue {
        [
            "id": .int(Int64(id)), "project_id": .int(Int64(projectID)), "name": .string(name), "link": .string("/s/\(token)"),
            "max_participants": .int(Int64(maxParticipants)), "participants": .int(Int64(places)),
            "judgements_per_participant": .int(Int64(judgementsPerParticipant)), "time_limit_minutes": .int(Int64(timeLimitMinutes)),
            "screener_pairs": .int(Int64(screenerPairs)), "screener_min_correct": .int(Int64(screenerMinCorrect)),
            "completion_code": .string(completionCode), "return_url": .string(returnURL),
            "created_at": .string(Clock.iso8601(milliseconds: createdAt)),
            "closed_at": closedAt.map { .string(Clock.iso8601(milliseconds: $0)) } ?? .null,
        ]
    }
}

extension Participant {
    /// For review: a completed participant nobody rejected counts as approved.
    func json(_ study: Study) -> JSONValue {
        let review = self.review == "pending" && state == .completed ? "approved" : self.review
        return [
            "id": .int(Int64(id)), "platform": .string(platform), "platform_id": .string(platformID), "rater": .string(username),
            "state": .string(state.rawValue), "review": .string(review), "judgements": .int(Int64(judgements)),
            "screener": ["judged": .int(Int64(screenerJudged)), "correct": .int(Int64(screenerCorrect))],
            "details": (try? JSONValue.parse(Array(details.utf8))) ?? .object([:]),
            "started_at": .string(Clock.iso8601(milliseconds: startedAt)),
            "finished_at": finishedAt.map { .string(Clock.iso8601(milliseconds: $0)) } ?? .null,
        ]
    }
}
