public import JSON

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
