public import Agreement
public import Storage

/// How many judgements each pair still wants (`pairs.wanted`), per the project's
/// ``OverlapRule``. Runs inside the writer's transaction: after each normal
/// judgement for its pair, after a settings change or an annotation import for
/// the whole project, and after rater accuracies are refreshed for the pairs
/// still open.
public enum PairDemand {
    /// Re-decides one pair after a judgement of it.
    public static func settle(_ db: Database, project: Project, pairID: Int64) throws {
        let rule = project.settings.overlapRule
        guard rule.isAdaptive else { return }  // fixed: `wanted` is the overlap already
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

    /// Re-decides every pair of the project (or only those still open).
    /// Returns how many pairs changed.
    @discardableResult
    public static func recompute(_ db: Database, project: Project, onlyOpen: Bool = false) throws -> Int {
        let rule = project.settings.overlapRule
        let projectID = SQLValue.int(Int64(project.id))
        guard rule.isAdaptive else {
            return try db.run("UPDATE pairs SET wanted = ? WHERE project_id = ? AND wanted != ?",
                              [.int(Int64(rule.maximum)), projectID, .int(Int64(rule.maximum))])
        }
        // Every normal judgement of the project (or of its open pairs) in pair order.
        let openFilter = onlyOpen ? "AND p.active_count < p.wanted" : ""
        var current: (pair: Int64, wanted: Int, votes: [OverlapRule.Vote])?
        var changes: [(Int64, Int)] = []
        func flush() {
            guard let pending = current else { return }
            let wanted = rule.wanted(pending.votes)
            if wanted != pending.wanted { changes.append((pending.pair, wanted)) }
        }
        let scan = try db.statement(
            """
            SELECT p.id, p.wanted, n.choice, coalesce(r.accuracy, ?) FROM pairs p
            LEFT JOIN annotations n ON n.pair_id = p.id AND n.kind = 'normal'
            LEFT JOIN rater_accuracy r ON r.project_id = p.project_id AND r.user_id = n.user_id
            WHERE p.project_id = ? AND p.gold IS NULL \(openFilter)
            ORDER BY p.id, n.id
            """)
        try scan.bind([.double(OverlapRule.priorAccuracy), projectID])
        try scan.forEach { row in
            let pair = row.int64(0)
            if current?.pair != pair {
                flush()
                current = (pair, row.int(1), [])
            }
            if !row.isNull(2) { current?.votes.append(OverlapRule.Vote(choice: decisive(row.string(2)), accuracy: row.double(3))) }
        }
        flush()
        let update = try db.statement("UPDATE pairs SET wanted = ? WHERE id = ?")
        for (pair, wanted) in changes {
            try update.bind([.int(Int64(wanted)), .int(pair)])
            try update.run()
        }
        return changes.count
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
