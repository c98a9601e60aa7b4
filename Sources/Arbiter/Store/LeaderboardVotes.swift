import JSON
import Storage

/// The battles behind a project's leaderboard: each rater's first judgement of
/// each pair whose two responses name their models (`model_a`, `model_b`, as
/// imported or generated) — in ranking and rating projects, every implied pair of
/// a task whose responses name their models — quarantined raters left out and
/// counted.
struct LeaderboardVotes {
    struct Vote {
        var modelA: String
        var modelB: String
        /// The stored choice: A, B, tie or both_bad.
        var choice: String
        var lengthA: Int
        var lengthB: Int
    }

    var votes: [Vote] = []
    var quarantinedRaters = 0
    var excludedVotes = 0
    /// Judgements of pairs without two different model names.
    var withoutModels = 0

    static func load(_ db: any Database, projectID: Int) throws -> LeaderboardVotes {
        var result = LeaderboardVotes()
        let quarantined = try RaterStatus.quarantined(db, projectID: projectID)
        result.quarantinedRaters = quarantined.count
        if let project = try Projects.find(db, id: projectID), project.settings.kind != .pairwise {
            try loadTasks(db, project: project, quarantined: quarantined, into: &result)
            return result
        }
        let rows = try db.statement(
            """
            SELECT n.pair_id, n.user_id, p.model_a, p.model_b, n.choice, length(p.response_a), length(p.response_b)
            FROM annotations n JOIN visible_pairs p ON p.id = n.pair_id
            WHERE n.project_id = ? AND n.kind != 'repeat'
            ORDER BY n.pair_id, n.user_id, n.id
            """)
        try rows.bind([.int(Int64(projectID))])
        var previous: (Int64, Int) = (-1, -1)
        try rows.forEach { row in
            let key = (row.int64(0), row.int(1))
            guard key != previous else { return }
            previous = key
            guard let a = row.optionalString(2), let b = row.optionalString(3), !a.isEmpty, !b.isEmpty, a != b else {
                result.withoutModels += 1
                return
            }
            if quarantined.contains(key.1) {
                result.excludedVotes += 1
                return
            }
            result.votes.append(Vote(modelA: a, modelB: b, choice: row.string(4), lengthA: row.int(5), lengthB: row.int(6)))
        }
        return result
    }

    /// A ranking or rating project: each judgement's implied pairs between
    /// responses whose models are named and differ (ranking: their order; ratings:
    /// their mean scores).
    static func loadTasks(_ db: any Database, project: Project, quarantined: Set<Int>, into result: inout LeaderboardVotes) throws {
        let rows = try db.statement(
            """
            SELECT n.pair_id, n.user_id, n.ranking, n.ratings, p.responses, p.models, p.response_a, p.response_b, p.model_a, p.model_b
            FROM annotations n JOIN visible_pairs p ON p.id = n.pair_id
            WHERE n.project_id = ? AND n.kind != 'repeat'
            ORDER BY n.pair_id, n.user_id, n.id
            """)
        try rows.bind([.int(Int64(project.id))])
        var previous: (Int64, Int) = (-1, -1)
        let attributes = project.settings.attributes
        try rows.forEach { row in
            let key = (row.int64(0), row.int(1))
            guard key != previous else { return }
            previous = key
            let responses = StoredResponses.parse(row.optionalString(4)) ?? [row.string(6), row.string(7)]
            let models: [String?] =
                row.optionalString(5).flatMap { try? JSONValue.parse($0).arrayValue?.map(\.stringValue) }
                ?? [row.optionalString(8), row.optionalString(9)]
            let count = responses.count
            guard
                let implied = ImpliedComparison(
                    storedRanking: row.optionalString(2), storedRatings: row.optionalString(3), count: count, attributes: attributes)?
                    .choice
            else { return }
            guard models.count == count else {
                result.withoutModels += 1
                return
            }
            var battles: [Vote] = []
            for i in 0..<count {
                for j in (i + 1)..<count {
                    guard let a = models[i], let b = models[j], !a.isEmpty, !b.isEmpty, a != b else { continue }
                    battles.append(
                        Vote(
                            modelA: a, modelB: b, choice: implied(i, j).rawValue,
                            lengthA: responses[i].count, lengthB: responses[j].count))
                }
            }
            if battles.isEmpty {
                result.withoutModels += 1
            } else if quarantined.contains(key.1) {
                result.excludedVotes += battles.count
            } else {
                result.votes += battles
            }
        }
    }
}
