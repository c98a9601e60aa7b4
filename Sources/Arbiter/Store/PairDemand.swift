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
        var rule = project.settings.overlapRule
        guard rule.isAdaptive else { return }  // fixed: `wanted` is the overlap already
        // Two judgements of one pair committing at once must not each decide without the other's vote.
        try RowLocks.pair(db, pairID: pairID)
        // One statement: the votes with their raters' weights, and the automatic
        // threshold on every row (NULL until estimated).
        var threshold: Double?
        let votes = try db.query(
            """
            SELECT n.choice, coalesce(r.accuracy, ?), r.pick_a, r.pick_b, coalesce(r.counted, 1),
                   (SELECT t.threshold FROM stop_thresholds t WHERE t.project_id = n.project_id)
            FROM annotations n
            LEFT JOIN rater_accuracy r ON r.project_id = n.project_id AND r.user_id = n.user_id
            WHERE n.pair_id = ? AND n.kind = 'normal' ORDER BY n.id
            """, [.double(OverlapRule.priorAccuracy), .int(pairID)]
        ) { row in
            threshold = row.optionalDouble(5)
            return OverlapRule.Vote(
                choice: decisive(row.string(0)), accuracy: row.double(1), pickA: row.optionalDouble(2),
                pickB: row.optionalDouble(3), counted: row.int(4) != 0)
        }
        rule = rule.resolved(threshold: threshold)
        let models = project.settings.countJudges ? try Judges.votes(db, pairID: pairID) : []
        try db.run("UPDATE pairs SET wanted = ? WHERE id = ?", [.int(Int64(rule.wanted(votes, models: models))), .int(pairID)])
    }

    /// What the stop rule knows of one rater: their accuracy, class-conditional
    /// rates when estimated, and whether their votes count.
    public struct RaterWeight: Sendable, Equatable {
        public var accuracy: Double
        public var pickA: Double?
        public var pickB: Double?
        public var shared: Int
        public var counted: Bool
        public static let unknown = RaterWeight(accuracy: OverlapRule.priorAccuracy, pickA: nil, pickB: nil, shared: 0, counted: true)

        func vote(_ choice: Int?) -> OverlapRule.Vote {
            OverlapRule.Vote(choice: choice, accuracy: accuracy, pickA: pickA, pickB: pickB, counted: counted)
        }
    }

    /// Re-decides every pair of the project, or only the started ones still open
    /// (untouched pairs have no votes to weigh). Returns how many pairs changed.
    @discardableResult
    public static func recompute(_ db: any Database, project: Project, onlyOpen: Bool = false) throws -> Int {
        var rule = project.settings.overlapRule
        guard rule.isAdaptive else {
            return try db.run(
                "UPDATE pairs SET wanted = ? WHERE project_id = ? AND wanted != ?",
                [.int(Int64(rule.maximum)), .int(Int64(project.id)), .int(Int64(rule.maximum))])
        }
        if rule.automatic { rule = rule.resolved(threshold: try SelectionModels.threshold(db, projectID: project.id)?.threshold) }
        let models = project.settings.countJudges ? try Judges.votesByPair(db, projectID: project.id) : [:]
        let changes = try ballots(db, projectID: project.id, onlyOpen: onlyOpen).compactMap { ballot -> (Int64, Int)? in
            let wanted = rule.wanted(ballot.votes.map { $0.weight.vote($0.choice) }, models: models[ballot.pair] ?? [])
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
        public var votes: [(choice: Int?, user: Int, weight: RaterWeight)]
    }

    /// The ballots of the project's pairs (or of its started, still open ones,
    /// and of any pair one of `alsoJudgedBy` voted on — a pair settled by a rater
    /// whose votes no longer count opens again).
    public static func ballots(_ db: any Database, projectID: Int, onlyOpen: Bool, alsoJudgedBy: Set<Int> = []) throws -> [Ballot] {
        let judgedBy =
            alsoJudgedBy.isEmpty
            ? ""
            : """
             OR EXISTS (SELECT 1 FROM annotations x WHERE x.pair_id = p.id AND x.kind = 'normal'
                        AND x.user_id IN (\(alsoJudgedBy.sorted().map(String.init).joined(separator: ", "))))
            """
        let openFilter = onlyOpen ? "AND (p.active_count < p.wanted AND p.active_count > 0\(judgedBy))" : ""
        let scan = try db.statement(
            """
            SELECT p.id, p.wanted, n.choice, n.user_id, coalesce(r.accuracy, ?), r.pick_a, r.pick_b, coalesce(r.counted, 1) FROM pairs p
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
            if !row.isNull(2) {
                let weight = RaterWeight(
                    accuracy: row.double(4), pickA: row.optionalDouble(5), pickB: row.optionalDouble(6), shared: 0, counted: row.int(7) != 0
                )
                ballots[ballots.count - 1].votes.append((decisive(row.string(2)), row.int(3), weight))
            }
        }
        return ballots
    }

    /// What a new pair of the project wants before anyone judges it.
    public static func initial(_ settings: ProjectSettings) -> Int { settings.overlapRule.minimum }

    /// 0 for A, 1 for B, nil for a tie, "both bad" or anything else.
    static func decisive(_ choice: String) -> Int? {
        switch Choice(rawValue: choice) {
        case .a: 0
        case .b: 1
        case .tie, .bothBad, nil: nil
        }
    }
}
