import Storage
import Synchronization

/// What a default export writes for one pair, and why: the item browser shows
/// it so the page and the file tell one story.
///
/// It is the export's own decision, not a second implementation: the same
/// exclusions (``Exporter/Exclusions``), the same first-judgement rule, the same
/// aggregation over the whole project (a weighted decision depends on every
/// rater's estimated confusion matrix), then gold keys and final labels.
struct PairDecision: Sendable {
    /// The exported preference (A or B); nil when the pair is not exported.
    var label: String?
    /// Whose decision the label is: `crowd`, `gold` or `reviewer`.
    var source: String?
    /// Why the pair is not exported (`no_majority`, `tie`, `gold_tie`, `reviewer_both_bad`, …),
    /// or `no_counted_judgements`.
    var dropped: String?
    /// The winning posterior (weighted) or vote share (majority), for a crowd decision.
    var share: Double?
    var aggregate: Aggregation
    /// The counted votes by choice.
    var counted: [String: Int]
    /// Judgements the decision leaves out, by annotation id, with the reason.
    var excluded: [Int64: String]
    /// Judgements whose rater the detector flags (left out or weighted), by annotation id.
    var flagged: Set<Int64> = []
    /// When the project-wide decisions were computed (Unix ms), and how many
    /// judgements (or changes of one) came in since — 0 when they are current.
    var asOf: Int64 = 0
    var judgementsSince = 0

    /// The decision of a default export (weighted, flagged raters left out).
    /// The project-wide part — who is left out, every pair's decision — is
    /// computed once per state of the project (``Fingerprint``) and kept for the
    /// next pair a reviewer opens; `cacheKey` names the database. While raters
    /// judge, it is kept up to ``freshFor`` ms and says how many judgements came
    /// since (at a million judgements the whole takes seconds); anything a
    /// reviewer changes — a rater's status, a final label — and new pairs are seen at once.
    static func find(_ db: any Database, project: Project, pairID: Int64, cacheKey: String, now: Int64) throws -> PairDecision {
        let options = ExportOptions()
        let fingerprint = try Fingerprint(db, projectID: project.id)
        let key = "\(cacheKey)#\(project.id)"
        var whole: ProjectDecisions
        var since = 0
        let cached = cache.withLock { $0[key] }
        if let cached, cached.fingerprint == fingerprint {
            whole = cached
        } else if let cached, now - cached.computedAt < freshFor, cached.fingerprint.onlyJudgedSince(fingerprint) {
            whole = cached
            since = try Fingerprint.judgementsSince(db, projectID: project.id, cached.fingerprint)
        } else {
            let exclusions = try Exporter.Exclusions(db, project: project, options: options)
            // Judges count here as in an export with the project's defaults.
            let judges = try Exporter.judgeUse(db, project: project, options: options)
            let decisions = try Exporter.decide(db, project: project, options: options, excluded: exclusions.excluded, judges: judges)
            whole = ProjectDecisions(fingerprint: fingerprint, exclusions: exclusions, decisions: decisions, computedAt: now)
            let entry = whole
            cache.withLock { entries in
                if entries.count >= Self.cachedProjects { entries.removeAll() }
                entries[key] = entry
            }
        }
        var decision = try find(db, pairID: pairID, exclusions: whole.exclusions, decisions: whole.decisions, aggregate: options.aggregate)
        decision.asOf = whole.computedAt
        decision.judgementsSince = since
        return decision
    }

    /// How long decisions are kept while only new judgements come in (ms).
    static let freshFor: Int64 = 60_000

    /// The project-wide part of the decisions, for one state of the project.
    struct ProjectDecisions: Sendable {
        var fingerprint: Fingerprint
        var exclusions: Exporter.Exclusions
        var decisions: Exporter.Decisions
        var computedAt: Int64
    }

    /// What the decisions depend on, read cheaply through indexes: the newest
    /// judgement and revision, the reviewers' rater decisions and final labels,
    /// the pairs and their imports. Any change there computes them again.
    struct Fingerprint: Sendable, Equatable {
        var values: [String]

        init(_ db: any Database, projectID: Int) throws {
            let project = SQLValue.int(Int64(projectID))
            values =
                try db.queryFirst(
                    """
                    SELECT (SELECT coalesce(max(id), 0) FROM annotations WHERE project_id = ?),
                           (SELECT coalesce(max(id), 0) FROM annotation_revisions),
                           (SELECT count(*) FROM rater_status WHERE project_id = ?), (SELECT coalesce(max(set_at), 0) FROM rater_status WHERE project_id = ?),
                           (SELECT count(*) FROM pair_labels WHERE project_id = ?), (SELECT coalesce(max(created_at), '') FROM pair_labels WHERE project_id = ?),
                           (SELECT coalesce(max(id), 0) FROM pairs WHERE project_id = ?),
                           (SELECT count(*) FROM imports WHERE project_id = ? AND state = 'committed'),
                           (SELECT count(*) FROM judge_verdicts v JOIN judges j ON j.id = v.judge_id WHERE j.project_id = ?),
                           (SELECT count_judges FROM projects WHERE id = ?)
                    """, [project, project, project, project, project, project, project, project, project]
                ) { row in (0..<10).map { row.isNull($0) ? "" : row.string($0) } } ?? []
        }

        /// Whether `later` differs from this only by newer judgements or revisions.
        func onlyJudgedSince(_ later: Fingerprint) -> Bool {
            values.count == 10 && later.values.count == 10 && Array(values[2...]) == Array(later.values[2...])
        }

        /// Judgements and revisions newer than `earlier`'s.
        static func judgementsSince(_ db: any Database, projectID: Int, _ earlier: Fingerprint) throws -> Int {
            let annotation = Int64(earlier.values[0]) ?? 0
            let revision = Int64(earlier.values[1]) ?? 0
            return try db.queryFirst(
                """
                SELECT (SELECT count(*) FROM annotations WHERE project_id = ? AND id > ?)
                     + (SELECT count(*) FROM annotation_revisions WHERE id > ?)
                """, [.int(Int64(projectID)), .int(annotation), .int(revision)]
            ) { $0.int(0) } ?? 0
        }
    }

    /// Projects whose decisions are kept (a few reviewers' projects, not every one).
    static let cachedProjects = 4
    static let cache = Mutex<[String: ProjectDecisions]>([:])

    /// One pair's part, from the project-wide decisions.
    static func find(
        _ db: any Database, pairID: Int64, exclusions: Exporter.Exclusions, decisions: Exporter.Decisions, aggregate: Aggregation
    ) throws -> PairDecision {
        var counted = ["A": 0, "B": 0, "tie": 0, "both_bad": 0]
        var excluded: [Int64: String] = [:]
        var seen: Set<Int> = []
        var flagged: Set<Int64> = []
        for judgement in try ExportReads.pairJudgements(db, pairID: pairID) {
            if exclusions.flagged.contains(judgement.user) || exclusions.weighted.contains(judgement.user) { flagged.insert(judgement.id) }
            if judgement.kind == "repeat" {
                excluded[judgement.id] = "repeat"
            } else if seen.contains(judgement.user) {
                excluded[judgement.id] = "not the rater's first"
            } else {
                seen.insert(judgement.user)
                if let reason = exclusions.reason(judgement.user) {
                    excluded[judgement.id] = reason
                } else {
                    counted[judgement.choice, default: 0] += 1
                }
            }
        }
        var decision = PairDecision(
            label: nil, source: nil, dropped: nil, share: nil, aggregate: aggregate, counted: counted,
            excluded: excluded, flagged: flagged)
        if let winner = decisions.winners[pairID] {
            decision.label = winner.aWins ? "A" : "B"
            decision.source = decisions.labelSource(pairID)
            if decision.source == "crowd" { decision.share = winner.share }
        } else {
            decision.dropped = decisions.droppedPairs[pairID] ?? "no_counted_judgements"
        }
        return decision
    }
}
