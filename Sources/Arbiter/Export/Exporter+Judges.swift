import Agreement
import Storage

/// Model judges in an export: which judges count, and the log-odds they and the
/// people give each pair (docs/JUDGES.md, "Counting judges").
extension Exporter {
    /// Whether a pairwise export counts the project's judges, and whose verdicts.
    /// Judges count only where each vote can be weighed (weighted aggregation), by
    /// the same rule as adaptive overlap — so the export labels what the stop rule
    /// settled: a judge counts unless its estimated accuracy is below
    /// ``Judges/minimumAccuracy`` (``judgeEvidence``), or the detector flags it for
    /// following the order of the responses (`position`, `self_consistency`).
    /// The detector's other judge findings are not used here: with judges counted,
    /// the pairs that get several people are those where the first person and the
    /// judges disagreed, and a judge measured on them alone looks worse than it is.
    static func judgeUse(_ db: any Database, project: Project, options: ExportOptions) throws -> ExportManifest.JudgeUse {
        var use = ExportManifest.JudgeUse()
        let judges = try Judges.list(db, projectID: project.id)
        guard !judges.isEmpty else { return use }
        guard options.includeJudges ?? project.settings.countJudges else {
            use.reason = options.includeJudges == false ? "the export asked not to" : "the project does not count judges (count_judges)"
            return use
        }
        guard options.aggregate == .weighted else {
            use.reason = "majority aggregation counts people only: judges count with their estimated accuracy (aggregate=weighted)"
            return use
        }
        let entries = try RaterQuery.report(db, projectID: project.id).raters.filter { $0.kind == .judge }
        let orderSignals: Set<String> = ["position", "self_consistency"]
        for judge in judges {
            let entry = entries.first { $0.annotator == judge.raterName }
            if let entry, entry.status == "flagged", let signal = entry.reasons.map(\.signal).first(where: orderSignals.contains) {
                use.leftOut.append((judge.name, "flagged: \(signal) (it follows the order of the responses)"))
            } else if judge.verdicts == 0 {
                use.leftOut.append((judge.name, "no verdicts yet"))
            } else {
                use.names.append(judge.name)
            }
        }
        use.counted = !use.names.isEmpty
        if !use.counted { use.reason = "no judge could be counted" }
        return use
    }

    /// With judges counted: each unit's log-odds of A over B from its people's and
    /// the counted judges' votes, and how many judge verdicts that is. Rates are
    /// estimated as adaptive overlap estimates them: Dawid–Skene on A/B votes of
    /// people and judges together, people shrunk towards the crowd, judges with a
    /// weak prior of their own.
    static func judgeEvidence(
        _ db: any Database, project: Project, judges: ExportManifest.JudgeUse,
        people: [(unit: Int, rater: Int, label: Int, strength: Int)], pairIDs: [Int64]
    ) throws -> (logOdds: [Double], votes: Int, tooPoor: [(id: Int64, accuracy: Double, shared: Int)]) {
        let counted = Set(try Judges.list(db, projectID: project.id).filter { judges.names.contains($0.name) }.map(\.id))
        var unitOf: [Int64: Int] = [:]
        for (unit, pair) in pairIDs.enumerated() { unitOf[pair] = unit }
        var verdicts = try Judges.verdicts(db, projectID: project.id).filter {
            counted.contains($0.judgeID) && unitOf[$0.pairID] != nil && $0.choice != nil
        }
        var rows = people.filter { $0.label < 2 }.map { (pair: pairIDs[$0.unit], user: $0.rater, choseA: $0.label == 0) }
        rows += verdicts.filter { $0.choice!.isDecisive }.map { (pair: $0.pairID, user: -Int($0.judgeID), choseA: $0.choice == .a) }
        var rates: [Int: RaterAccuracy.Estimate] = [:]
        for (user, estimate) in SelectionModel.classAccuracies(rows) where user >= 0 { rates[user] = estimate }
        var below: [(id: Int64, accuracy: Double, shared: Int)] = []
        for (user, estimate) in SelectionModel.classAccuracies(rows, pseudoCount: 2) where user < 0 {
            rates[user] = estimate
            if estimate.shared >= Judges.minimumShared && estimate.accuracy < Judges.minimumAccuracy {
                below.append((Int64(-user), estimate.accuracy, estimate.shared))
            }
        }
        let tooPoor = Set(below.map(\.id))
        verdicts.removeAll { tooPoor.contains($0.judgeID) }
        func push(_ label: Int, _ rate: RaterAccuracy.Estimate?) -> Double {
            OverlapRule.Vote(
                choice: label < 2 ? label : nil, accuracy: rate?.accuracy ?? OverlapRule.priorAccuracy, pickA: rate?.pickA,
                pickB: rate?.pickB
            ).push
        }
        var logOdds = [Double](repeating: 0, count: pairIDs.count)
        for person in people { logOdds[person.unit] += push(person.label, rates[person.rater]) }
        for verdict in verdicts {
            logOdds[unitOf[verdict.pairID]!] += push(verdict.choice!.category, rates[-Int(verdict.judgeID)])
        }
        return (logOdds, verdicts.count, below)
    }
}
