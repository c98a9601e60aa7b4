public import Agreement
import Storage

/// What agreement is computed from: each rater's **first** judgement on each pair
/// of a project (repeats only feed self-consistency), quarantined raters left out
/// and counted.
public struct AgreementInput: Sendable {
    /// Units are pairs with at least one counted judgement.
    public var judgements: [Judgement] = []
    /// Each unit's external pair id.
    public var pairIDs: [String] = []
    /// Each rater's username.
    public var raterNames: [String] = []
    /// Raters left out, and their judgements.
    public var quarantinedRaters = 0
    public var excludedJudgements = 0
    /// The project's kind. In ranking and rating projects the units above are
    /// each task's implied pairs (responses i < j, named `task:i-j`).
    public var kind = TaskKind.pairwise
    /// Ranking projects: per task, each rater's ranks of its responses (1 = best,
    /// ties at their mean), for Kendall's W and α over ranks.
    public var rankings: [[[Double]]] = []
    /// Rating projects: per attribute, per (task, response), every rater's score.
    public var ratingUnits: [String: [[Double]]] = [:]
    public var attributes: [String] = []
    /// Units a reviewer settled with a final label (not listed as contested).
    public var settled: Set<Int> = []
}

/// The SQL behind agreement.
enum AgreementReads {
    static func input(_ db: any Database, projectID: Int) throws -> AgreementInput {
        if let project = try Projects.find(db, id: projectID), project.settings.kind != .pairwise {
            return try taskInput(db, project: project)
        }
        var input = AgreementInput()
        var pairIndex: [Int64: Int] = [:]
        var raterIndex: [Int: Int] = [:]
        let quarantined = try RaterStatus.quarantined(db, projectID: projectID)
        input.quarantinedRaters = quarantined.count
        let rows = try db.statement(
            """
            SELECT n.pair_id, p.external_id, n.user_id, u.username, n.choice, n.strength
            FROM annotations n JOIN pairs p ON p.id = n.pair_id JOIN users u ON u.id = n.user_id
            WHERE n.project_id = ? AND n.kind != 'repeat'
            ORDER BY n.pair_id, n.user_id, n.id
            """)
        try rows.bind([.int(Int64(projectID))])
        var previous: (pair: Int64, user: Int) = (-1, -1)
        try rows.forEach { row in
            let pair = row.int64(0)
            let user = row.int(2)
            // First judgement per rater and pair (rows are ordered, so repeats are adjacent).
            guard pair != previous.pair || user != previous.user else { return }
            previous = (pair, user)
            if quarantined.contains(user) {
                input.excludedJudgements += 1
                return
            }
            let unit =
                pairIndex[pair]
                ?? {
                    pairIndex[pair] = input.pairIDs.count
                    input.pairIDs.append(row.string(1))
                    return input.pairIDs.count - 1
                }()
            let rater =
                raterIndex[user]
                ?? {
                    raterIndex[user] = input.raterNames.count
                    input.raterNames.append(row.string(3))
                    return input.raterNames.count - 1
                }()
            let choice = Choice(rawValue: row.string(4)) ?? .tie
            input.judgements.append(
                Judgement(
                    unit: unit, rater: rater, category: choice.category, signed: choice.signedPreference(strength: row.optionalInt(5))))
        }
        for (pair, _) in try PairLabels.all(db, projectID: projectID) {
            if let unit = pairIndex[pair] { input.settled.insert(unit) }
        }
        return input
    }
}

extension AgreementReads {
    /// A ranking or rating project: each rater's first judgement per task, read as
    /// implied pairs (the units of α, κ and contested items), as ranks per task
    /// (Kendall's W) and as scores per attribute (α per attribute).
    static func taskInput(_ db: any Database, project: Project) throws -> AgreementInput {
        var input = AgreementInput()
        input.kind = project.settings.kind
        input.attributes = project.settings.attributes
        let quarantined = try RaterStatus.quarantined(db, projectID: project.id)
        input.quarantinedRaters = quarantined.count
        var raterIndex: [Int: Int] = [:]
        var unitIndex: [String: Int] = [:]
        var taskRankings: [Int64: [[Double]]] = [:]
        var taskOrder: [Int64] = []
        var ratingValues: [String: [String: [Double]]] = [:]
        var ratingOrder: [String] = []
        let rows = try db.statement(
            """
            SELECT n.pair_id, p.external_id, n.user_id, u.username, n.ranking, n.ratings, p.responses
            FROM annotations n JOIN pairs p ON p.id = n.pair_id JOIN users u ON u.id = n.user_id
            WHERE n.project_id = ? AND n.kind != 'repeat'
            ORDER BY n.pair_id, n.user_id, n.id
            """)
        try rows.bind([.int(Int64(project.id))])
        var previous: (pair: Int64, user: Int) = (-1, -1)
        let attributes = project.settings.attributes
        try rows.forEach { row in
            let pair = row.int64(0)
            let user = row.int(2)
            guard pair != previous.pair || user != previous.user else { return }
            previous = (pair, user)
            if quarantined.contains(user) {
                input.excludedJudgements += 1
                return
            }
            let count = StoredResponses.parse(row.optionalString(6))?.count ?? 2
            let external = row.string(1)
            let rater =
                raterIndex[user]
                ?? {
                    raterIndex[user] = input.raterNames.count
                    input.raterNames.append(row.string(3))
                    return input.raterNames.count - 1
                }()
            // Implied pairs: the order (ranking) or the mean scores (ratings) of i and j.
            var implied: ((Int, Int) -> Choice)?
            if let ranking = Ranking.stored(row.optionalString(4)), ranking.covers(count) {
                implied = { ranking.implied($0, $1, count: count) }
                if taskRankings[pair] == nil { taskOrder.append(pair) }
                taskRankings[pair, default: []].append(ranking.ranks(count: count))
            } else if let ratings = Ratings.stored(row.optionalString(5)), ratings.scores.count == count {
                let means = (0..<count).map { ratings.mean($0, attributes: attributes) }
                implied = { Choice.comparing(means[$0], means[$1]) }
                for attribute in attributes {
                    for response in 0..<count {
                        guard let score = ratings.scores[response][attribute] else { continue }
                        let key = "\(pair):\(response)"
                        if ratingValues[attribute]?[key] == nil && attribute == attributes[0] { ratingOrder.append(key) }
                        ratingValues[attribute, default: [:]][key, default: []].append(Double(score))
                    }
                }
            }
            guard let implied else { return }
            for i in 0..<count {
                for j in (i + 1)..<count {
                    let name = "\(external):\(i)-\(j)"
                    let unit =
                        unitIndex[name]
                        ?? {
                            unitIndex[name] = input.pairIDs.count
                            input.pairIDs.append(name)
                            return input.pairIDs.count - 1
                        }()
                    let choice = implied(i, j)
                    input.judgements.append(
                        Judgement(unit: unit, rater: rater, category: choice.category, signed: choice.signedPreference(strength: nil)))
                }
            }
        }
        input.rankings = taskOrder.compactMap { taskRankings[$0] }
        for attribute in attributes {
            input.ratingUnits[attribute] = ratingOrder.compactMap { ratingValues[attribute]?[$0] }
        }
        return input
    }
}
