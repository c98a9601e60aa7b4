public import Agreement
public import JSON

/// A project: a set of pairs and how they are judged.
public struct Project: Sendable, Equatable {
    public var id: Int
    public var name: String
    public var settings: ProjectSettings

    /// The project as JSON for the API.
    public var json: JSONValue {
        var object: JSONObject = ["id": .int(Int64(id)), "name": .string(name)]
        for member in settings.json { object[member.key] = member.value }
        return .object(object)
    }
}

/// Everything an admin can set on a project, with the defaults of a new one.
public struct ProjectSettings: Sendable, Equatable {
    public var guidelines = ""
    /// Judgements wanted per pair; with adaptive overlap, the most a pair gets.
    public var overlap = 3
    /// Adaptive overlap: the fewest judgements a pair gets (nil: always `overlap`).
    public var minOverlap: Int?
    /// Adaptive overlap: stop once the leading answer is this many votes ahead.
    public var stopAgree: Int?
    /// Adaptive overlap: stop once the leading answer's weighted posterior reaches this.
    public var stopPosterior: Double?
    /// Active selection: offer least-certain pairs first (per a background reward model).
    public var activeSelection = false
    /// Active selection: the share of fresh pairs drawn at random instead.
    public var activeRandomShare = 0.2
    /// Active selection: retrain the model after this many new judgements.
    public var activeRetrainEvery = 500
    /// How long an annotator holds a pair.
    public var leaseTTLSeconds = 600
    /// Share of assignments that are gold pairs (known answers).
    public var goldRate = 0.0
    /// Share of assignments that repeat a pair the annotator judged (shown swapped).
    public var repeatRate = 0.0
    /// A repeat comes back only after this many other judgements of the annotator
    /// in the project…
    public var repeatAfterJudgements = 20
    /// …and this many minutes after the first judgement: far enough apart that the
    /// rater judges it afresh rather than recognising it.
    public var repeatAfterMinutes = 30
    /// Per-aspect judgements asked for, e.g. `["helpfulness", "harmlessness"]`.
    public var aspects: [String] = []
    public var allowTies = true
    public var allowBothBad = true
    public var strengthEnabled = true
    /// A decisive choice must come with its strength.
    public var strengthRequired = false
    /// Every aspect must be answered.
    public var aspectsRequired = false
    public var rationaleRequired = false
    /// The most judgements (normal, gold and repeats) one annotator gives in the
    /// project; 0 for no cap.
    public var maxPerAnnotator = 0
    /// What an annotator does with a task: pick one of two, rank K, or rate each.
    public var kind = TaskKind.pairwise
    /// Rating projects: the attributes each response is scored on.
    public var attributes: [String] = []
    /// Rating projects: the scale's ends (inclusive), e.g. 0–4 as HelpSteer2.
    public var scaleMin = 0
    public var scaleMax = 4
    /// Rating projects: one label (anchor) per scale point, or none.
    public var scaleLabels: [String] = []
    /// Any kind: the annotator may rewrite the best response into a better one.
    public var rewrite = false
    /// Pairwise projects: battles between live models instead of imported pairs (nil: none).
    public var arena: ArenaSettings?
    /// Count model judges' verdicts in exports, each judge weighted by its estimated
    /// accuracy (an export may still say otherwise).
    public var countJudges = false

    public init() {}

    /// Checks ranges; the message names the field.
    public func validate() throws(ValidationError) {
        guard (1...100).contains(overlap) else { throw ValidationError("overlap must be between 1 and 100") }
        if let minOverlap {
            guard (1...overlap).contains(minOverlap) else {
                throw ValidationError("min_overlap must be between 1 and overlap (\(overlap))")
            }
        }
        if let stopAgree, !(1...100).contains(stopAgree) { throw ValidationError("stop_agree must be between 1 and 100") }
        if let stopPosterior, !(stopPosterior > 0.5 && stopPosterior < 1) {
            throw ValidationError("stop_posterior must be above 0.5 and below 1")
        }
        guard (0...1).contains(activeRandomShare) else { throw ValidationError("active_random_share must be between 0 and 1") }
        guard (10...1_000_000).contains(activeRetrainEvery) else {
            throw ValidationError("active_retrain_every must be between 10 and 1000000")
        }
        guard (1...86_400).contains(leaseTTLSeconds) else { throw ValidationError("lease TTL must be between 1 and 86400 seconds") }
        guard (0...1).contains(goldRate) else { throw ValidationError("gold rate must be between 0 and 1") }
        guard (0...1).contains(repeatRate) else { throw ValidationError("repeat rate must be between 0 and 1") }
        guard goldRate + repeatRate <= 1 else { throw ValidationError("gold rate + repeat rate must not exceed 1") }
        guard (0...100_000).contains(repeatAfterJudgements) else {
            throw ValidationError("repeat_after_judgements must be between 0 and 100000")
        }
        guard (0...10_080).contains(repeatAfterMinutes) else {
            throw ValidationError("repeat_after_minutes must be between 0 and 10080 (a week)")
        }
        guard aspects.count <= 20 else { throw ValidationError("at most 20 aspects") }
        for aspect in aspects {
            guard !aspect.isEmpty, aspect.count <= 64 else { throw ValidationError("aspect names are 1 to 64 characters") }
        }
        guard Set(aspects).count == aspects.count else { throw ValidationError("aspect names must be unique") }
        guard !strengthRequired || strengthEnabled else { throw ValidationError("strength_required needs strength_enabled") }
        guard guidelines.utf8.count <= 200_000 else { throw ValidationError("guidelines are limited to 200 KB") }
        guard (0...10_000_000).contains(maxPerAnnotator) else {
            throw ValidationError("max_per_annotator must be between 0 (no cap) and 10000000")
        }
        try validateTask()
        if let arena {
            guard kind == .pairwise else { throw ValidationError("arena: only pairwise projects hold battles") }
            try arena.validate()
        }
    }

    /// The kind's own settings: attributes and scale only where they mean something.
    private func validateTask() throws(ValidationError) {
        guard kind == .rating else {
            guard attributes.isEmpty else { throw ValidationError("attributes: only rating projects rate attributes") }
            return
        }
        guard !attributes.isEmpty else { throw ValidationError("attributes: a rating project needs at least one (e.g. helpfulness)") }
        guard attributes.count <= 12 else { throw ValidationError("attributes: at most 12") }
        for attribute in attributes {
            guard !attribute.isEmpty, attribute.utf8.count <= 64 else { throw ValidationError("attributes: names are 1 to 64 bytes") }
        }
        guard Set(attributes).count == attributes.count else { throw ValidationError("attributes: names must be unique") }
        guard scaleMin >= -100, scaleMax <= 100, scaleMin < scaleMax, scaleMax - scaleMin <= 10 else {
            throw ValidationError("scale: from MIN to MAX with MIN < MAX, at most 11 points, within -100...100 (e.g. 0-4)")
        }
        guard scaleLabels.isEmpty || scaleLabels.count == scaleMax - scaleMin + 1 else {
            throw ValidationError("scale_labels: one label per scale point (\(scaleMax - scaleMin + 1)), or none")
        }
        guard scaleLabels.allSatisfy({ $0.utf8.count <= 200 }) else { throw ValidationError("scale_labels: at most 200 bytes each") }
    }

    var json: JSONObject {
        [
            "guidelines": .string(guidelines), "overlap": .int(Int64(overlap)),
            "min_overlap": JSONValue(minOverlap), "stop_agree": JSONValue(stopAgree),
            "stop_posterior": stopPosterior.map { .double($0) } ?? .null,
            "active_selection": .bool(activeSelection), "active_random_share": .double(activeRandomShare),
            "active_retrain_every": .int(Int64(activeRetrainEvery)),
            "lease_ttl_seconds": .int(Int64(leaseTTLSeconds)), "gold_rate": .double(goldRate),
            "repeat_rate": .double(repeatRate), "repeat_after_judgements": .int(Int64(repeatAfterJudgements)),
            "repeat_after_minutes": .int(Int64(repeatAfterMinutes)), "aspects": .array(aspects.map { .string($0) }),
            "allow_ties": .bool(allowTies), "allow_both_bad": .bool(allowBothBad),
            "strength_enabled": .bool(strengthEnabled), "strength_required": .bool(strengthRequired),
            "aspects_required": .bool(aspectsRequired), "rationale_required": .bool(rationaleRequired),
            "max_per_annotator": .int(Int64(maxPerAnnotator)),
            "kind": .string(kind.rawValue), "attributes": .array(attributes.map { .string($0) }),
            "scale_min": .int(Int64(scaleMin)), "scale_max": .int(Int64(scaleMax)),
            "scale_labels": .array(scaleLabels.map { .string($0) }), "rewrite": .bool(rewrite),
            "arena": arena?.json ?? .null, "count_judges": .bool(countJudges),
        ]
    }
}

/// What an annotator does with one task.
public enum TaskKind: String, Sendable, CaseIterable {
    /// Two responses: which is better (A, B, tie, both bad).
    case pairwise
    /// K = 2…9 responses put in order of preference, best first.
    case ranking
    /// Each response scored on the project's attributes.
    case rating

    /// The most responses one ranking or rating task may hold.
    public static let maxResponses = 9
}

extension ProjectSettings {
    /// The JSON names of the settings an admin may send.
    static let fields: Set<String> = [
        "guidelines", "overlap", "lease_ttl_seconds", "gold_rate", "repeat_rate", "repeat_after_judgements", "repeat_after_minutes",
        "aspects",
        "allow_ties", "allow_both_bad", "strength_enabled", "strength_required", "aspects_required", "rationale_required",
        "min_overlap", "stop_agree", "stop_posterior", "active_selection", "active_random_share", "active_retrain_every",
        "max_per_annotator", "kind", "attributes", "scale_min", "scale_max", "scale_labels", "rewrite", "arena",
        "count_judges",
    ]

    /// When a pair has had enough judgements.
    public var overlapRule: OverlapRule {
        let minimum = minOverlap ?? overlap
        // Adaptive without a stop rule of the admin's: the threshold comes from the crowd.
        return OverlapRule(
            minimum: minimum, maximum: overlap, lead: stopAgree, posterior: stopPosterior,
            automatic: minimum < overlap && stopAgree == nil && stopPosterior == nil)
    }

    /// The collection policy, for export manifests.
    public var collectionPolicy: JSONValue {
        let rule = overlapRule
        var overlap: JSONObject = ["policy": .string(rule.isAdaptive ? "adaptive" : "fixed"), "max": .int(Int64(rule.maximum))]
        if rule.isAdaptive {
            overlap["min"] = .int(Int64(rule.minimum))
            overlap["stop_agree"] = JSONValue(rule.lead)
            overlap["stop_posterior"] = rule.automatic ? .string("automatic") : rule.posterior.map { .double($0) } ?? .null
        }
        var selection: JSONObject = ["policy": .string(activeSelection ? "active" : "in_order")]
        if activeSelection {
            selection["random_share"] = .double(activeRandomShare)
            selection["retrain_every"] = .int(Int64(activeRetrainEvery))
        }
        return ["overlap": .object(overlap), "selection": .object(selection)]
    }

    /// Applies the settings present in `object` (others stay), then validates.
    /// Each wrong field is a ``ValidationError`` naming it.
    public mutating func apply(_ object: JSONObject) throws(ValidationError) {
        func integer(_ key: String) throws(ValidationError) -> Int? {
            guard let value = object[key] else { return nil }
            guard let number = value.intValue, let int = Int(exactly: number) else {
                throw ValidationError("\(key): expected a whole number")
            }
            return int
        }
        func number(_ key: String) throws(ValidationError) -> Double? {
            guard let value = object[key] else { return nil }
            guard let number = value.doubleValue, number.isFinite else { throw ValidationError("\(key): expected a number") }
            return number
        }
        func flag(_ key: String) throws(ValidationError) -> Bool? {
            guard let value = object[key] else { return nil }
            guard let flag = value.boolValue else { throw ValidationError("\(key): expected true or false") }
            return flag
        }
        if let value = object["guidelines"] {
            guard let text = value.stringValue else { throw ValidationError("guidelines: expected a string (Markdown)") }
            guidelines = text
        }
        if let value = try integer("overlap") { overlap = value }
        // Adaptive fields accept null to switch the rule off.
        if object["min_overlap"] == .null { minOverlap = nil } else if let value = try integer("min_overlap") { minOverlap = value }
        if object["stop_agree"] == .null { stopAgree = nil } else if let value = try integer("stop_agree") { stopAgree = value }
        if object["stop_posterior"] == .null {
            stopPosterior = nil
        } else if let value = try number("stop_posterior") {
            stopPosterior = value
        }
        if let value = try flag("active_selection") { activeSelection = value }
        if let value = try number("active_random_share") { activeRandomShare = value }
        if let value = try integer("active_retrain_every") { activeRetrainEvery = value }
        if let value = try integer("lease_ttl_seconds") { leaseTTLSeconds = value }
        if let value = try number("gold_rate") { goldRate = value }
        if let value = try number("repeat_rate") { repeatRate = value }
        if let value = try integer("repeat_after_judgements") { repeatAfterJudgements = value }
        if let value = try integer("repeat_after_minutes") { repeatAfterMinutes = value }
        if let value = object["aspects"] {
            guard let list = value.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                throw ValidationError("aspects: expected a list of names")
            }
            aspects = list.compactMap(\.stringValue).map { $0.trimmingWhitespace() }
        }
        if let value = try flag("allow_ties") { allowTies = value }
        if let value = try flag("allow_both_bad") { allowBothBad = value }
        if let value = try flag("strength_enabled") { strengthEnabled = value }
        if let value = try flag("strength_required") { strengthRequired = value }
        if let value = try flag("aspects_required") { aspectsRequired = value }
        if let value = try flag("rationale_required") { rationaleRequired = value }
        if let value = try integer("max_per_annotator") { maxPerAnnotator = value }
        if let value = object["kind"] {
            guard let text = value.stringValue, let parsed = TaskKind(rawValue: text) else {
                throw ValidationError("kind: expected \"pairwise\", \"ranking\" or \"rating\"")
            }
            kind = parsed
        }
        func names(_ key: String) throws(ValidationError) -> [String]? {
            guard let value = object[key] else { return nil }
            guard let list = value.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                throw ValidationError("\(key): expected a list of strings")
            }
            return list.compactMap(\.stringValue).map { $0.trimmingWhitespace() }
        }
        if let value = try names("attributes") { attributes = value }
        if let value = try integer("scale_min") { scaleMin = value }
        if let value = try integer("scale_max") { scaleMax = value }
        if let value = try names("scale_labels") { scaleLabels = value }
        if let value = try flag("rewrite") { rewrite = value }
        if let value = try flag("count_judges") { countJudges = value }
        if let value = object["arena"] { arena = value == .null ? nil : try ArenaSettings.parse(value) }
        try validate()
    }
}

/// A project in a list, with its size.
public struct ProjectSummary: Sendable {
    public var project: Project
    /// Visible pairs (not those of an import still staging).
    public var pairs: Int
    public var annotations: Int
}
