import Storage

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

    /// The decision of an export with `options` (the defaults: weighted, flagged raters left out).
    static func find(_ db: any Database, project: Project, pairID: Int64, options: ExportOptions = ExportOptions()) throws -> PairDecision {
        let exclusions = try Exporter.Exclusions(db, project: project, options: options)
        let decisions = try Exporter.decide(db, project: project, options: options, excluded: exclusions.excluded)
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
            label: nil, source: nil, dropped: nil, share: nil, aggregate: options.aggregate, counted: counted,
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
