import JSON
public import Storage

/// Projects in SQL.
public enum Projects {
    static let columns = """
        id, name, guidelines, overlap, lease_ttl_seconds, gold_rate, repeat_rate, aspects,
        allow_ties, allow_both_bad, strength_enabled, rationale_required,
        min_overlap, stop_agree, stop_posterior, active_selection, active_random_share, active_retrain_every,
        strength_required, aspects_required, max_per_annotator,
        kind, attributes, scale_min, scale_max, scale_labels, rewrite, arena, repeat_after_judgements, repeat_after_minutes, count_judges
        """

    /// ``columns`` of a project aliased `p`, for statements that join it.
    static let qualifiedColumns = columns.split(separator: ",").map { "p." + String($0).trimmingWhitespace() }.joined(separator: ", ")

    /// How many columns ``decode(_:)`` reads (those after them are the caller's).
    static let columnCount = columns.split(separator: ",").count

    /// Creates a project; a taken name is a ``ValidationError``.
    public static func create(_ db: any Database, name: String, settings: ProjectSettings) throws -> Project {
        let trimmed = name.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.count <= 200 else { throw ValidationError("project names are 1 to 200 characters") }
        try settings.validate()
        let id: Int64
        do {
            id = try db.insert(
                """
                INSERT INTO projects (name, guidelines, overlap, lease_ttl_seconds, gold_rate, repeat_rate, aspects,
                    allow_ties, allow_both_bad, strength_enabled, rationale_required,
                    min_overlap, stop_agree, stop_posterior, active_selection, active_random_share, active_retrain_every,
                    strength_required, aspects_required, max_per_annotator,
                    kind, attributes, scale_min, scale_max, scale_labels, rewrite, arena, repeat_after_judgements, repeat_after_minutes,
                    count_judges)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(trimmed), .text(settings.guidelines), .int(Int64(settings.overlap)), .int(Int64(settings.leaseTTLSeconds)),
                    .double(settings.goldRate), .double(settings.repeatRate),
                    .text(JSONValue.array(settings.aspects.map { .string($0) }).jsonText),
                    SQLValue(settings.allowTies), SQLValue(settings.allowBothBad), SQLValue(settings.strengthEnabled),
                    SQLValue(settings.rationaleRequired),
                ] + adaptiveValues(settings))
        } catch {
            throw error.isUniqueViolation ? ValidationError("a project named '\(trimmed)' already exists") : error
        }
        return Project(id: Int(id), name: trimmed, settings: settings)
    }

    /// Renames a project and/or replaces its settings.
    public static func update(_ db: any Database, id: Int, name: String, settings: ProjectSettings) throws {
        let trimmed = name.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.count <= 200 else { throw ValidationError("project names are 1 to 200 characters") }
        try settings.validate()
        if let current = try find(db, id: id), current.settings.kind != settings.kind,
            try db.queryFirst("SELECT 1 FROM pairs WHERE project_id = ? LIMIT 1", [.int(Int64(id))], { _ in true }) == true
        {
            throw ValidationError("kind: cannot change once the project has tasks (it is \(current.settings.kind.rawValue))")
        }
        do {
            try db.run(
                """
                UPDATE projects SET name = ?, guidelines = ?, overlap = ?, lease_ttl_seconds = ?, gold_rate = ?, repeat_rate = ?,
                    aspects = ?, allow_ties = ?, allow_both_bad = ?, strength_enabled = ?, rationale_required = ?,
                    min_overlap = ?, stop_agree = ?, stop_posterior = ?, active_selection = ?, active_random_share = ?,
                    active_retrain_every = ?, strength_required = ?, aspects_required = ?, max_per_annotator = ?,
                    kind = ?, attributes = ?, scale_min = ?, scale_max = ?, scale_labels = ?, rewrite = ?, arena = ?,
                    repeat_after_judgements = ?, repeat_after_minutes = ?, count_judges = ?
                WHERE id = ?
                """,
                [
                    .text(trimmed), .text(settings.guidelines), .int(Int64(settings.overlap)), .int(Int64(settings.leaseTTLSeconds)),
                    .double(settings.goldRate), .double(settings.repeatRate),
                    .text(JSONValue.array(settings.aspects.map { .string($0) }).jsonText),
                    SQLValue(settings.allowTies), SQLValue(settings.allowBothBad), SQLValue(settings.strengthEnabled),
                    SQLValue(settings.rationaleRequired),
                ] + adaptiveValues(settings) + [.int(Int64(id))])
        } catch {
            throw error.isUniqueViolation ? ValidationError("a project named '\(trimmed)' already exists") : error
        }
        // Overlap settings change what every pair wants.
        try PairDemand.recompute(db, project: Project(id: id, name: trimmed, settings: settings))
    }

    static func adaptiveValues(_ settings: ProjectSettings) -> [SQLValue] {
        [
            SQLValue(settings.minOverlap), SQLValue(settings.stopAgree), settings.stopPosterior.map { .double($0) } ?? .null,
            SQLValue(settings.activeSelection), .double(settings.activeRandomShare), .int(Int64(settings.activeRetrainEvery)),
            SQLValue(settings.strengthRequired), SQLValue(settings.aspectsRequired), .int(Int64(settings.maxPerAnnotator)),
            .text(settings.kind.rawValue), .text(JSONValue.array(settings.attributes.map { .string($0) }).jsonText),
            .int(Int64(settings.scaleMin)), .int(Int64(settings.scaleMax)),
            .text(JSONValue.array(settings.scaleLabels.map { .string($0) }).jsonText), SQLValue(settings.rewrite),
            SQLValue(settings.arena.map { $0.json.jsonText }),
            .int(Int64(settings.repeatAfterJudgements)), .int(Int64(settings.repeatAfterMinutes)), SQLValue(settings.countJudges),
        ]
    }

    /// The project with this id.
    public static func find(_ db: any Database, id: Int) throws -> Project? {
        try db.queryFirst("SELECT \(columns) FROM projects WHERE id = ?", [.int(Int64(id))], decode)
    }

    /// The project with this name.
    public static func find(_ db: any Database, name: String) throws -> Project? {
        try db.queryFirst("SELECT \(columns) FROM projects WHERE name = ?", [.text(name)], decode)
    }

    /// Every project with its pair and annotation counts.
    public static func list(_ db: any Database) throws -> [ProjectSummary] {
        let projects = try db.query("SELECT \(columns) FROM projects ORDER BY id", [], decode)
        return try projects.map { project in
            let pairs =
                try db.queryFirst("SELECT count(*) FROM visible_pairs WHERE project_id = ?", [.int(Int64(project.id))]) { $0.int(0) } ?? 0
            let annotations =
                try db.queryFirst("SELECT count(*) FROM annotations WHERE project_id = ?", [.int(Int64(project.id))]) { $0.int(0) } ?? 0
            return ProjectSummary(project: project, pairs: pairs, annotations: annotations)
        }
    }

    static func decode(_ row: any Row) -> Project {
        var settings = ProjectSettings()
        settings.guidelines = row.string(2)
        settings.overlap = row.int(3)
        settings.leaseTTLSeconds = row.int(4)
        settings.goldRate = row.double(5)
        settings.repeatRate = row.double(6)
        settings.aspects = ((try? JSONValue.parse(row.string(7)))?.arrayValue ?? []).compactMap(\.stringValue)
        settings.allowTies = row.bool(8)
        settings.allowBothBad = row.bool(9)
        settings.strengthEnabled = row.bool(10)
        settings.rationaleRequired = row.bool(11)
        settings.minOverlap = row.optionalInt(12)
        settings.stopAgree = row.optionalInt(13)
        settings.stopPosterior = row.isNull(14) ? nil : row.double(14)
        settings.activeSelection = row.bool(15)
        settings.activeRandomShare = row.double(16)
        settings.activeRetrainEvery = row.int(17)
        settings.strengthRequired = row.bool(18)
        settings.aspectsRequired = row.bool(19)
        settings.maxPerAnnotator = row.int(20)
        settings.kind = TaskKind(rawValue: row.string(21)) ?? .pairwise
        settings.attributes = ((try? JSONValue.parse(row.string(22)))?.arrayValue ?? []).compactMap(\.stringValue)
        settings.scaleMin = row.int(23)
        settings.scaleMax = row.int(24)
        settings.scaleLabels = ((try? JSONValue.parse(row.string(25)))?.arrayValue ?? []).compactMap(\.stringValue)
        settings.rewrite = row.bool(26)
        settings.arena = row.optionalString(27).flatMap { try? JSONValue.parse($0) }.flatMap { try? ArenaSettings.parse($0) }
        settings.repeatAfterJudgements = row.int(28)
        settings.repeatAfterMinutes = row.int(29)
        settings.countJudges = row.bool(30)
        return Project(id: row.int(0), name: row.string(1), settings: settings)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
