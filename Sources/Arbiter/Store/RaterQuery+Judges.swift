import Agreement
import Storage

extension RaterQuery {
    /// The project's model judges as raters (`judge:NAME`), each measured against
    /// the people alone: the crowd model and the signals run once per judge over
    /// the people's judgements and that judge's answers — its first answer on a pair
    /// as a judgement (shown in the order asked first), its second as a repeat shown
    /// the other way round — so the consensus a judge is read against holds no
    /// judge, and position bias and inconsistency show as they would in a person.
    /// People's entries do not change when a judge is added.
    static func judgeEntries(_ db: any Database, projectID: Int, loaded: Loaded) throws -> [RaterReport.Entry] {
        guard !loaded.unitIndex.isEmpty else { return [] }
        let judges = try Judges.list(db, projectID: projectID)
        guard !judges.isEmpty else { return [] }
        let verdicts = Dictionary(grouping: try Judges.verdicts(db, projectID: projectID), by: \.judgeID)
        var entries: [RaterReport.Entry] = []
        for judge in judges {
            let rater = loaded.raterNames.count
            var judgements = loaded.judgements
            var goldRight = 0
            var goldJudged = 0
            var answers = 0
            for verdict in verdicts[judge.id] ?? [] {
                guard let unit = loaded.unitIndex[verdict.pairID] else { continue }
                if let first = verdict.firstAnswer {
                    judgements.append(
                        RatedJudgement(unit: unit, rater: rater, category: first.category, shownSwapped: verdict.firstSwapped))
                    answers += 1
                }
                if let second = verdict.secondAnswer {
                    judgements.append(
                        RatedJudgement(
                            unit: unit, rater: rater, category: second.category, shownSwapped: !verdict.firstSwapped,
                            isRepeat: verdict.firstAnswer != nil))
                    answers += 1
                }
                if let gold = loaded.units[unit].gold, let choice = verdict.choice {
                    goldJudged += 1
                    if choice.category == gold { goldRight += 1 }
                }
            }
            guard answers > 0 else { continue }
            var raterIndex = [Int: Int]()
            for (index, user) in loaded.userIDs.enumerated() { raterIndex[user] = index }
            raterIndex[-Int(judge.id)] = rater
            let assessed = assess(
                judgements, units: loaded.units, raterNames: loaded.raterNames + [judge.raterName], raterIndex: raterIndex,
                tokenIDs: loaded.tokenIDs)
            guard let assessment = assessed.assessments.first(where: { $0.rater == rater }) else { continue }
            var entry = RaterReport.Entry(
                userID: -Int(judge.id), annotator: judge.raterName, annotations: (verdicts[judge.id] ?? []).count,
                status: assessment.flagged ? "flagged" : "ok", comment: nil, suspicion: assessment.suspicion,
                medianDurationMilliseconds: nil, reasons: assessment.reasons, signals: assessment.signals,
                honestProbability: assessment.honestProbability, enoughEvidence: assessment.enoughEvidence, finding: assessment.finding,
                gold: (goldRight, goldJudged))
            entry.kind = .judge
            entry.flaggedOnAccuracy = assessment.flaggedOnAccuracy || assessment.finding == .unreliable
            entries.append(entry)
        }
        return entries
    }
}
