import Agreement
public import Storage

/// How many judgements each pair still wants (`pairs.wanted`), per the project's
/// ``OverlapRule``. Runs inside the writer's transaction: after each normal
/// judgement for its pair, after a settings change or an annotation import for
/// the whole project, and after rater accuracies are refreshed for the pairs
/// still open.
public enum PairDemand {
    /// Re-decides one pair after a judgement of it.
    public static func settle(_ db: any Database, project: Project, pairID: Int64) throws {
        let rule = project.settings.overlapRule
        guard rule.isAdaptive else { return }  // fixed: `wanted` is the overlap already
        // Two judgements of one pair committing at once must not each decide without the other's vote.
        try RowLocks.pair(db, pairID: pairID)
        let votes = try db.query(
            """
            SELECT n.choice, coalesce(r.accuracy, ?) FROM annotations n
            LEFT JOIN rater_accuracy r ON r.project_id = n.project_id AND r.user_id = n.user_id
            WHERE n.pair_id = ? AND n.kind = 'normal' ORDER BY n.id
            """, [.double(OverlapRule.priorAccuracy), .int(pairID)]) { row in
            OverlapRule.Vote(choice: decisive(row.string(0)), accuracy: row.double(1))
        }
        try db.run("UPDATE pairs SET wanted = ? WHERE id = ?", [.int(Int64(rule.wanted(votes))), .int(pairID)])
    }

    /// Re-decides every pair of the project, or only the started ones still open
    /// (untouched pairs have no votes to weigh). Returns how many pairs changed.
    @discardableResult
    public static func recompute(_ db: any Database, project: Project, onlyOpen: Bool = false) throws -> Int {
        let rule = project.settings.overlapRule
        guard rule.isAdaptive else {
            return try db.run("UPDATE pairs SET wanted = ? WHERE project_id = ? AND wanted != ?",
                              [.int(Int64(rule.maximum)), .int(Int64(project.id)), .int(Int64(rule.maximum))])
        }
        let changes = try ballots(db, projectID: project.id, onlyOpen: onlyOpen).compactMap { ballot -> (Int64, Int)? in
            let wanted = rule.wanted(ballot.votes.map { OverlapRule.Vote(choice: $0.choice, accuracy: $0.accuracy) })
            return wanted == ballot.wanted ? nil : (ballot.pair, wanted)
        }
        let update = try db.statement("UPDATE pairs SET wanted = ? WHERE id = ?")
        for (pair, wanted) in changes {
            try update.bind([.int(Int64(wanted)), .int(pair)])
            try update.run()
        }
        return changes.count
    }

    /// One pair's normal judgements in order, with each rater's stored accuracy.
    public struct Ballot: Sendable {
        public var pair: Int64
        public var wanted: Int
        public var votes: [(choice: Int?, user: Int, accuracy: Double)]
    }

    /// The ballots of the project's pairs (or of its started, still open ones).
    public static func ballots(_ db: any Database, projectID: Int, onlyOpen: Bool) throws -> [Ballot] {
        let openFilter = onlyOpen ? "AND p.active_count < p.wanted AND p.active_count > 0" : ""
        let scan = try db.statement(
            """
            SELECT p.id, p.wanted, n.choice, n.user_id, coalesce(r.accuracy, ?) FROM pairs p
            LEFT JOIN annotations n ON n.pair_id = p.id AND n.kind = 'normal'
            LEFT JOIN rater_accuracy r ON r.project_id = p.project_id AND r.user_id = n.user_id
            WHERE p.project_id = ? AND p.gold IS NULL \(openFilter)
            ORDER BY p.id, n.id
            """)
        try scan.bind([.double(OverlapRule.priorAccuracy), .int(Int64(projectID))])
        var ballots: [Ballot] = []
        try scan.forEach { row in
            let pair = row.int64(0)
            if ballots.last?.pair != pair { ballots.append(Ballot(pair: pair, wanted: row.int(1), votes: [])) }
            if !row.isNull(2) { ballots[ballots.count - 1].votes.append((decisive(row.string(2)), row.int(3), row.double(4))) }
        }
        return ballots
    }

    /// What a new pair of the project wants before anyone judges it.
    public static func initial(_ settings: ProjectSettings) -> Int { settings.overlapRule.minimum }

    /// 0 for A, 1 for B, nil for a tie or "both bad".
    static func decisive(_ choice: String) -> Int? {
        switch choice {
        case "A": 0
        case "B": 1
        default: nil
        }
    }
}
