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

    /// The decision of a default export (weighted, flagged raters left out).
    /// The project-wide part — who is left out, every pair's decision — is
    /// computed once per state of the project (``Fingerprint``) and kept for the
    /// next pair a reviewer opens; `cacheKey` names the database.
    static func find(_ db: any Database, project: Project, pairID: Int64, cacheKey: String) throws -> PairDecision {
        let options = ExportOptions()
        let fingerprint = try Fingerprint(db, projectID: project.id)
        let key = "\(cacheKey)#\(project.id)"
        let whole: ProjectDecisions
        if let cached = cache.withLock({ $0[key] }), cached.fingerprint == fingerprint {
            whole = cached
        } else {
            let exclusions = try Exporter.Exclusions(db, project: project, options: options)
            let decisions = try Exporter.decide(db, project: project, options: options, excluded: exclusions.excluded)
            whole = ProjectDecisions(fingerprint: fingerprint, exclusions: exclusions, decisions: decisions)
            cache.withLock { entries in
                if entries.count >= Self.cachedProjects { entries.removeAll() }
                entries[key] = whole
            }
        }
        return try find(db, pairID: pairID, exclusions: whole.exclusions, decisions: whole.decisions, aggregate: options.aggregate)
    }

    /// The project-wide part of the decisions, for one state of the project.
    struct ProjectDecisions: Sendable {
        var fingerprint: Fingerprint
        var exclusions: Exporter.Exclusions
        var decisions: Exporter.Decisions
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
                           (SELECT count(*) FROM imports WHERE project_id = ? AND state = 'committed')
                    """, [project, project, project, project, project, project, project]
                ) { row in (0..<8).map { row.isNull($0) ? "" : row.string($0) } } ?? []
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
