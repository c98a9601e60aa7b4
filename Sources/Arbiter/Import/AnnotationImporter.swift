public import Storage
import JSON

/// Imports judgements teams already have: one JSON object per line,
/// `{"pair", "annotator", "choice", "strength"?, "shown_swapped"?, "duration_ms"?,
/// "created_at"?, "aspects"?, "rationale"?}` with a canonical choice — or, in ranking
/// and rating projects, `{"task", "annotator", "ranking": [i, j, …]}` (indices into the
/// task's `responses`, best first, tied ones nested) or `{"task", "annotator",
/// "ratings": [{attribute: score}, …]}`; any kind takes `"rewrite": {"base", "text"}`
/// where the project asks for rewrites. A new annotator
/// name becomes a rater account that cannot log in. A rater's first judgement on a
/// pair counts toward overlap; later ones are repeats. The same line imported
/// twice is a duplicate, not a second judgement.
public enum AnnotationImporter {
    /// Reads every line of `reader` into `project` in one transaction; `beforeCommit`
    /// runs inside it just before it commits (the audit row).
    public static func run(
        _ db: any Database, project: Project, reader: inout JSONLReader, options: ImportOptions,
        beforeCommit: (ImportReport) throws -> Void = { _ in }
    ) throws -> ImportReport {
        let rows = try JudgementRows(db, projectID: project.id)
        var raters: [String: Int] = [:]
        let now = Clock.iso8601(milliseconds: Clock.nowMilliseconds())
        // Imported judgements may settle pairs (or leave them contested).
        let settle = { (report: ImportReport) in
            _ = try PairDemand.recompute(db, project: project)
            try beforeCommit(report)
        }
        return try ImportTransaction.run(db, reader: &reader, options: options, beforeCommit: settle) { line, number, writing, report in
            var judgement: ImportedJudgement
            do throws(ValidationError) {
                judgement = try ImportedJudgement.parse(line, project: project)
            } catch {
                report.record(line: number, error.message)
                return
            }
            guard let (pairID, isGold, responses) = try rows.pair(externalID: judgement.pair) else {
                let noun = project.settings.kind == .pairwise ? "pair" : "task"
                report.record(line: number, "\(noun): no \(noun) '\(judgement.pair)' in project '\(project.name)'")
                return
            }
            do throws(ValidationError) {
                try judgement.settle(responses: responses, settings: project.settings)
            } catch {
                report.record(line: number, error.message)
                return
            }
            guard writing else { return }
            let raterID: Int
            if let known = raters[judgement.annotator.lowercased()] {
                raterID = known
            } else {
                do {
                    raterID = try Users.rater(db, username: judgement.annotator)
                } catch let error as ValidationError {
                    report.record(line: number, "annotator: \(error.message)")
                    return
                }
                raters[judgement.annotator.lowercased()] = raterID
            }
            let createdAt = judgement.createdAt ?? now
            if try rows.exists(pairID: pairID, userID: raterID, createdAt: createdAt, choice: judgement.choice) {
                report.duplicates += 1
                return
            }
            let seenBefore = try rows.hasJudged(pairID: pairID, userID: raterID)
            let kind: AssignmentKind = seenBefore ? .repeat : (isGold ? .gold : .normal)
            try rows.insert(judgement, pairID: pairID, userID: raterID, kind: kind, createdAt: createdAt)
            report.imported += 1
        }
    }
}

/// One parsed annotation line.
struct ImportedJudgement {
    var pair: String
    var annotator: String
    var choice: Choice
    var strength: Int?
    var shownSwapped: Bool?
    var durationMilliseconds: Int?
    var createdAt: String?
    var aspects: JSONObject?
    var rationale: String?
    var ranking: Ranking?
    var ratings: Ratings?
    var rewrite: Rewrite?
    var attributes: [String] = []

    static let known: Set<String> = [
        "pair", "task", "annotator", "choice", "strength", "shown_swapped", "duration_ms", "created_at", "aspects", "rationale",
        "ranking", "ratings", "rewrite",
    ]

    /// Checks a task's judgement against its `responses` and the project, and sets
    /// the implied choice for responses 0 and 1 (as submissions do).
    mutating func settle(responses: Int, settings: ProjectSettings) throws(ValidationError) {
        if let rewrite, rewrite.base >= responses {
            throw ValidationError("rewrite.base: there are \(responses) responses (0 to \(responses - 1))")
        }
        if let ranking {
            guard ranking.covers(responses) else {
                throw ValidationError("ranking: expected every response index once (0 to \(responses - 1)), best first")
            }
            if ranking.hasTies && !settings.allowTies { throw ValidationError("ranking: ties are not allowed in this project") }
            choice = ranking.implied(0, 1, count: responses)
        } else if let ratings {
            try ratings.check(attributes: settings.attributes, scale: settings.scaleMin...settings.scaleMax, count: responses)
            let (a, b) = (ratings.mean(0, attributes: settings.attributes), ratings.mean(1, attributes: settings.attributes))
            choice = Choice.comparing(a, b)
        }
    }

    static func parse(_ line: ArraySlice<UInt8>, project: Project) throws(ValidationError) -> ImportedJudgement {
        let value: JSONValue
        do {
            value = try line.withUnsafeBufferPointer { buffer throws(JSONError) in try JSONValue.parse(buffer) }
        } catch {
            throw ValidationError("invalid JSON: \(error)")
        }
        guard let object = value.objectValue else { throw ValidationError("expected a JSON object, got \(value.typeName)") }
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw ValidationError("unknown field '\(unknown)' (expected \(known.sorted().joined(separator: ", ")))")
        }
        let kind = project.settings.kind
        let key = kind == .pairwise ? "pair" : "task"
        let pair: String
        switch object["pair"] ?? object["task"] {
        case .string(let text)?: pair = text
        case .int(let number)?: pair = String(number)
        default: throw ValidationError("\(key): expected the \(key)'s id")
        }
        guard let annotator = object["annotator"]?.stringValue else { throw ValidationError("annotator: expected a name") }
        var judgement: ImportedJudgement
        switch kind {
        case .pairwise:
            guard let choiceText = object["choice"]?.stringValue, let choice = Choice(rawValue: choiceText) else {
                throw ValidationError("choice: expected \"A\", \"B\", \"tie\" or \"both_bad\"")
            }
            judgement = ImportedJudgement(pair: pair, annotator: annotator, choice: choice)
        case .ranking:
            guard let value = object["ranking"], object["choice"] == nil, object["ratings"] == nil else {
                throw ValidationError("ranking: this project ranks responses; expected \"ranking\": [indices, best first]")
            }
            judgement = ImportedJudgement(pair: pair, annotator: annotator, choice: .tie)
            judgement.ranking = try Ranking.parse(value)
        case .rating:
            guard let value = object["ratings"], object["choice"] == nil, object["ranking"] == nil else {
                throw ValidationError("ratings: this project rates responses; expected \"ratings\": [{attribute: score}, …]")
            }
            judgement = ImportedJudgement(pair: pair, annotator: annotator, choice: .tie)
            judgement.ratings = try Ratings.parse(value)
            judgement.attributes = project.settings.attributes
        }
        if let rewrite = object["rewrite"], rewrite != .null {
            guard project.settings.rewrite else { throw ValidationError("rewrite: this project does not ask for rewrites") }
            judgement.rewrite = try Rewrite.parse(rewrite)
        }
        if kind != .pairwise, let field = ["strength", "aspects"].first(where: { object[$0] != nil && object[$0] != .null }) {
            throw ValidationError("\(field): only with a pair's choice")
        }
        if let strength = object["strength"], strength != .null {
            guard let value = strength.intValue, (1...3).contains(value) else { throw ValidationError("strength: expected 1, 2 or 3") }
            guard judgement.choice.isDecisive else { throw ValidationError("strength: only for A or B") }
            judgement.strength = Int(value)
        }
        if let swapped = object["shown_swapped"], swapped != .null {
            guard let value = swapped.boolValue else { throw ValidationError("shown_swapped: expected true or false") }
            judgement.shownSwapped = value
        }
        if let duration = object["duration_ms"], duration != .null {
            guard let value = duration.intValue, value >= 0, value <= 86_400_000 else {
                throw ValidationError("duration_ms: expected 0 to 86400000")
            }
            judgement.durationMilliseconds = Int(value)
        }
        if let created = object["created_at"], created != .null {
            guard let text = created.stringValue, Clock.parseISO8601(text) != nil else {
                throw ValidationError("created_at: expected an RFC 3339 time such as 2026-11-26T11:00:00Z")
            }
            judgement.createdAt = text
        }
        if let aspects = object["aspects"], aspects != .null {
            guard let map = aspects.objectValue else { throw ValidationError("aspects: expected an object") }
            for member in map {
                guard project.settings.aspects.contains(member.key) else {
                    throw ValidationError("aspects: '\(member.key)' is not an aspect of this project")
                }
                guard let text = member.value.stringValue, Choice(rawValue: text) != nil else {
                    throw ValidationError("aspects.\(member.key): expected \"A\", \"B\", \"tie\" or \"both_bad\"")
                }
            }
            judgement.aspects = map.isEmpty ? nil : map
        }
        if let rationale = object["rationale"], rationale != .null {
            guard let text = rationale.stringValue, text.utf8.count <= 20_000 else {
                throw ValidationError("rationale: a string of at most 20000 bytes")
            }
            judgement.rationale = text
        }
        return judgement
    }
}
