import JSON
import Storage

/// The item browser and final labels: reviewers and admins find pairs, open one
/// with everything said about it, and settle its label.
public struct ItemService: Sendable {
    let store: ArbiterStore

    public init(store: ArbiterStore) { self.store = store }

    /// The browser's query from a request's query string; anything unknown or
    /// malformed is refused with the parameter named.
    func query(_ items: [String: String]) async throws -> PairBrowser.Query {
        let known: Set<String> = [
            "q", "state", "min_judgements", "max_judgements", "min_disagreement", "reported", "gold", "labelled", "raters",
            "sort", "after", "limit",
        ]
        if let unknown = items.keys.sorted().first(where: { !known.contains($0) }) {
            throw ValidationError("\(unknown): unknown parameter")
        }
        var query = PairBrowser.Query()
        if let text = items["q"] {
            guard text.utf8.count <= 500 else { throw ValidationError("q: at most 500 bytes") }
            query.words = PairBrowser.words(text)
            // A query of punctuation alone would silently match everything.
            if query.words.isEmpty && !text.allSatisfy(\.isWhitespace) {
                throw ValidationError("q: no letters or digits to search for (search matches words and the starts of words)")
            }
        }
        if let text = items["sort"] {
            guard let sort = PairBrowser.Sort(rawValue: text) else {
                throw ValidationError("sort: one of \(PairBrowser.Sort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            query.sort = sort
        }
        if let text = items["state"], !text.isEmpty {
            guard let state = PairBrowser.State(rawValue: text) else { throw ValidationError("state: unjudged, in_progress or complete") }
            query.state = state
        }
        func count(_ name: String) throws -> Int? {
            guard let text = items[name], !text.isEmpty else { return nil }
            guard let value = Int(text), (0...1_000_000).contains(value) else { throw ValidationError("\(name): a whole number from 0") }
            return value
        }
        func flag(_ name: String) throws -> Bool? {
            switch items[name] {
            case nil, "": return nil
            case "true": return true
            case "false": return false
            default: throw ValidationError("\(name): true or false")
            }
        }
        query.minJudgements = try count("min_judgements")
        query.maxJudgements = try count("max_judgements")
        if let text = items["min_disagreement"], !text.isEmpty {
            guard let value = Double(text), value.isFinite, (0...2).contains(value) else {
                throw ValidationError("min_disagreement: a number from 0 to 2")
            }
            query.minDisagreement = value
        }
        query.reported = try flag("reported")
        query.gold = try flag("gold")
        query.labelled = try flag("labelled")
        if let text = items["limit"] {
            guard let limit = Int(text), (1...200).contains(limit) else { throw ValidationError("limit: 1 to 200") }
            query.limit = limit
        }
        if let text = items["after"], !text.isEmpty {
            guard let cursor = PairBrowser.Cursor(text, sort: query.sort) else {
                throw ValidationError("after: the `next` of an earlier page with the same sort")
            }
            query.after = cursor
        }
        if let text = items["raters"], !text.isEmpty {
            let names = text.split(separator: ",").map(String.init)
            guard names.count <= 100 else { throw ValidationError("raters: at most 100 names") }
            query.raters = try await store.pool.read { db in
                try names.map { name in
                    guard let user = try Users.find(db, username: name) else {
                        throw ValidationError("raters: no user named '\(name)'")
                    }
                    return user.id
                }
            }
        }
        return query
    }

    /// A page of the project's pairs.
    func browse(projectID: Int, items: [String: String]) async throws -> PairBrowser.Page {
        let query = try await self.query(items)
        return try await store.pool.read { db in
            guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
            return try PairBrowser.page(db, projectID: projectID, query: query)
        }
    }

    /// One pair with its judgements, reports and final label.
    func detail(projectID: Int, externalID: String) async throws -> JSONValue {
        try await store.pool.read { db in
            guard let project = try Projects.find(db, id: projectID) else { throw ServiceError.noSuchProject }
            guard let pair = try PairDetail.find(db, projectID: projectID, externalID: externalID) else {
                throw ServiceError.notFound("no such pair")
            }
            let judgements = try PairDetail.judgements(db, pairID: pair.id)
            let reports = try PairDetail.reports(db, pairID: pair.id)
            let label = try PairLabels.find(db, pairID: pair.id)
            let kind = project.settings.kind
            var detail: JSONValue = [
                "pair": [
                    "id": .string(pair.externalID), "prompt": pair.prompt.json, "response_a": .string(pair.responseA),
                    "response_b": .string(pair.responseB), "model_a": JSONValue(pair.modelA), "model_b": JSONValue(pair.modelB),
                    "metadata": pair.metadata.flatMap { try? JSONValue.parse($0) } ?? .null, "gold": JSONValue(pair.gold),
                    "votes": PairBrowser.votesJSON(pair.votes),
                    "judgements": .int(Int64(pair.judgements)), "wanted": .int(Int64(pair.wanted)),
                    "disagreement": .double(pair.disagreement),
                    "crowd": JSONValue(pair.plurality),
                ],
                "judgements": .array(judgements.map(\.json)),
                "reports": .array(reports.map(\.json)),
                "final_label": label?.json ?? .null,
            ]
            // A ranking or rating task: every response (canonical order) and the kind.
            if kind != .pairwise, case .object(var object) = detail, case .object(var pairObject)? = object["pair"] {
                pairObject["responses"] = .array((pair.responses ?? [pair.responseA, pair.responseB]).map { .string($0) })
                pairObject["models"] = pair.models ?? .null
                object["pair"] = .object(pairObject)
                object["kind"] = .string(kind.rawValue)
                detail = .object(object)
            }
            return detail
        }
    }

    /// What a default export writes for a pair of a pairwise project, and which
    /// of its judgements that leaves out (a flagged rater's status says so, as on
    /// the review page). Apart from ``detail(projectID:externalID:)``: it rests on
    /// the whole project's decisions (kept per state of the project, see
    /// ``PairDecision``), so the pair's texts never wait for them.
    func decision(projectID: Int, externalID: String, now: Int64) async throws -> JSONValue {
        let cacheKey = store.location.description
        return try await store.pool.read { db in
            guard let project = try Projects.find(db, id: projectID) else { throw ServiceError.noSuchProject }
            guard let pair = try PairDetail.find(db, projectID: projectID, externalID: externalID) else {
                throw ServiceError.notFound("no such pair")
            }
            guard project.settings.kind == .pairwise else {
                throw ValidationError("pair: export decisions are for pairwise projects (this one is \(project.settings.kind.rawValue))")
            }
            let decision = try PairDecision.find(db, project: project, pairID: pair.id, cacheKey: cacheKey, now: now)
            let judgements = try PairDetail.judgements(db, pairID: pair.id)
            return [
                "export_decision": decision.json,
                "judgements": .array(
                    judgements.map { judgement in
                        let flagged = judgement.raterStatus == nil && decision.flagged.contains(judgement.id)
                        return [
                            "id": .int(judgement.id), "counted": .bool(decision.excluded[judgement.id] == nil),
                            "excluded_reason": JSONValue(decision.excluded[judgement.id]),
                            "rater_status": .string(flagged ? "flagged" : judgement.raterStatus ?? "ok"),
                        ]
                    }),
            ]
        }
    }

    /// Sets a pair's final label (A, B, tie or both_bad) with an optional note; audited.
    func setLabel(
        projectID: Int, externalID: String, label: String, note: String, actor: Int, address: String, now: Int64
    ) async throws -> JSONValue {
        guard Choice(rawValue: label) != nil else { throw ValidationError("label: A, B, tie or both_bad") }
        guard note.utf8.count <= 2000 else { throw ValidationError("note: at most 2000 bytes") }
        return try await store.pool.write { db in
            guard let project = try Projects.find(db, id: projectID) else { throw ServiceError.noSuchProject }
            guard project.settings.kind == .pairwise else {
                throw ValidationError("label: final labels are for pairwise projects (this one is \(project.settings.kind.rawValue))")
            }
            guard let pair = try PairDetail.find(db, projectID: projectID, externalID: externalID) else {
                throw ServiceError.notFound("no such pair")
            }
            try PairLabels.set(
                db, pairID: pair.id, projectID: projectID, label: label, crowd: pair.plurality, note: note, by: actor, now: now)
            try AuditLog.record(
                db, actor: actor, action: "final_label_set", target: "project:\(projectID)/\(pair.externalID)",
                details: JSONObjectText(["label": label, "crowd": pair.plurality ?? "none", "note": note]),
                address: address, now: now)
            return try PairLabels.find(db, pairID: pair.id)?.json ?? .null
        }
    }

    /// Removes a pair's final label (the crowd's decision applies again); audited.
    func clearLabel(projectID: Int, externalID: String, actor: Int, address: String, now: Int64) async throws {
        try await store.pool.write { db in
            guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
            guard let pair = try PairDetail.find(db, projectID: projectID, externalID: externalID) else {
                throw ServiceError.notFound("no such pair")
            }
            guard try PairLabels.clear(db, pairID: pair.id) else { throw ServiceError.notFound("the pair has no final label") }
            try AuditLog.record(
                db, actor: actor, action: "final_label_cleared", target: "project:\(projectID)/\(pair.externalID)",
                details: JSONObjectText([:]), address: address, now: now)
        }
    }
}
