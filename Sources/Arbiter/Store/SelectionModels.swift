public import Agreement
import Storage

/// The SQL of adaptive overlap and active selection: rater accuracies, the labels
/// the selection model learns from (read incrementally), candidate pairs and
/// their priorities, and the status the dashboard and manifest show.
enum SelectionModels {
    // MARK: Rater accuracy

    /// Decisive normal judgements on pairs judged more than once: (pair, user, chose A).
    static func sharedJudgements(
        _ db: any Database, projectID: Int, minimumPeople: Int = 2
    ) throws -> [(pair: Int64, user: Int, choseA: Bool)] {
        try db.query(
            """
            SELECT n.pair_id, n.user_id, n.choice FROM pairs p JOIN annotations n ON n.pair_id = p.id
            WHERE p.project_id = ? AND p.gold IS NULL AND p.active_count >= ?
              AND n.kind = 'normal' AND n.choice IN ('A', 'B') ORDER BY n.pair_id
            """, [.int(Int64(projectID)), .int(Int64(minimumPeople))]
        ) { ($0.int64(0), $0.int(1), $0.string(2) == "A") }
    }

    /// Replaces the project's stored rater accuracies, class-conditional rates and
    /// whether each rater's votes count.
    static func storeAccuracies(_ db: any Database, projectID: Int, _ raters: [Int: PairDemand.RaterWeight]) throws {
        let project = SQLValue.int(Int64(projectID))
        try db.run("DELETE FROM rater_accuracy WHERE project_id = ?", [project])
        let insert = try db.statement(
            "INSERT INTO rater_accuracy (project_id, user_id, accuracy, shared, pick_a, pick_b, counted) VALUES (?, ?, ?, ?, ?, ?, ?)")
        for (user, row) in raters.sorted(by: { $0.key < $1.key }) {
            try insert.bind([
                project, .int(Int64(user)), .double(row.accuracy), .int(Int64(row.shared)),
                row.pickA.map { .double($0) } ?? .null, row.pickB.map { .double($0) } ?? .null, .int(row.counted ? 1 : 0),
            ])
            try insert.run()
        }
    }

    /// Each rater's normal judgements in the project, and how many were a tie or
    /// "both bad" (the automatic threshold's crowd: who arrives how often).
    static func raterVolumes(_ db: any Database, projectID: Int) throws -> [Int: (judgements: Int, neutral: Int)] {
        Dictionary(
            uniqueKeysWithValues: try db.query(
                """
                SELECT user_id, count(*), sum(CASE WHEN choice IN ('A', 'B') THEN 0 ELSE 1 END) FROM annotations
                WHERE project_id = ? AND kind = 'normal' GROUP BY user_id
                """, [.int(Int64(projectID))]
            ) { ($0.int(0), (judgements: $0.int(1), neutral: $0.int(2))) })
    }

    /// Raters whose votes the stop rule does not count: flagged by the detector
    /// (and not cleared by a reviewer), or quarantined.
    static func uncountedRaters(_ db: any Database, projectID: Int) throws -> Set<Int> {
        Set(try RaterQuery.flaggedUsers(db, projectID: projectID).keys).union(try RaterStatus.quarantined(db, projectID: projectID))
    }

    /// Stores the project's automatic stop threshold.
    static func storeThreshold(_ db: any Database, projectID: Int, _ chosen: AutomaticThreshold) throws {
        try db.run(
            """
            INSERT INTO stop_thresholds (project_id, threshold, expected_error, fixed_three_error, expected_judgements) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (project_id) DO UPDATE SET threshold = excluded.threshold, expected_error = excluded.expected_error,
                fixed_three_error = excluded.fixed_three_error, expected_judgements = excluded.expected_judgements
            """,
            [
                .int(Int64(projectID)), .double(chosen.threshold), .double(chosen.expectedError), .double(chosen.fixedThreeError),
                .double(chosen.expectedJudgements),
            ])
    }

    /// The project's automatic stop threshold, once estimated.
    static func threshold(_ db: any Database, projectID: Int) throws -> AutomaticThreshold? {
        try db.queryFirst(
            "SELECT threshold, expected_error, fixed_three_error, expected_judgements FROM stop_thresholds WHERE project_id = ?",
            [.int(Int64(projectID))]
        ) {
            AutomaticThreshold(
                threshold: $0.double(0), expectedError: $0.double(1), fixedThreeError: $0.double(2), expectedJudgements: $0.double(3))
        }
    }

    /// The stored accuracy of each rater of the project.
    static func accuracies(_ db: any Database, projectID: Int) throws -> [Int: Double] {
        Dictionary(
            uniqueKeysWithValues: try db.query(
                "SELECT user_id, accuracy FROM rater_accuracy WHERE project_id = ?", [.int(Int64(projectID))]
            ) { ($0.int(0), $0.double(1)) })
    }

    /// Sets `wanted` of pairs whose normal judgement count is still `judged` (a
    /// judgement in between decided the pair at submit time already).
    static func setWanted(_ db: any Database, _ changes: [(pair: Int64, wanted: Int, judged: Int)]) throws {
        let update = try db.statement(
            """
            UPDATE pairs SET wanted = ?1 WHERE id = ?2
              AND (SELECT count(*) FROM annotations WHERE pair_id = ?2 AND kind = 'normal') = ?3
            """)
        for change in changes {
            try update.bind([.int(Int64(change.wanted)), .int(change.pair), .int(Int64(change.judged))])
            try update.run()
        }
    }

    // MARK: Labels, incrementally

    /// Brings `labels` up to date: normal judgements stored since its last read,
    /// judgements changed since (undo), and the texts of pairs it has not seen.
    /// Costs what is new, not what the project holds.
    static func update(_ labels: LabelCache, _ db: any Database, projectID: Int) throws {
        let project = SQLValue.int(Int64(projectID))
        // A project deleted and another created under its id: start again.
        if labels.lastAnnotationID > 0,
            try db.queryFirst(
                "SELECT 1 FROM annotations WHERE id = ? AND project_id = ?", [.int(labels.lastAnnotationID), project], { _ in true }) == nil
        {
            labels.reset()
        }
        let latestRevision = try db.queryFirst("SELECT coalesce(max(id), 0) FROM annotation_revisions") { $0.int64(0) } ?? 0
        if labels.lastRevisionID > 0 || labels.lastAnnotationID > 0 {
            let revised = try db.query(
                """
                SELECT DISTINCT n.id, n.pair_id, n.user_id, n.choice FROM annotation_revisions r JOIN annotations n ON n.id = r.annotation_id
                WHERE r.id > ? AND n.project_id = ? AND n.kind = 'normal' AND n.id <= ?
                """, [.int(labels.lastRevisionID), project, .int(labels.lastAnnotationID)]
            ) { ($0.int64(0), $0.int64(1), $0.int(2), $0.string(3)) }
            for (id, pair, user, choice) in revised { labels.record(annotation: id, pair: pair, user: user, choice: choice) }
        }
        labels.lastRevisionID = latestRevision
        let fresh = try db.query(
            "SELECT id, pair_id, user_id, choice FROM annotations WHERE project_id = ? AND kind = 'normal' AND id > ? ORDER BY id",
            [project, .int(labels.lastAnnotationID)]
        ) { ($0.int64(0), $0.int64(1), $0.int(2), $0.string(3)) }
        let text = try db.statement("SELECT response_a, response_b FROM pairs WHERE id = ?")
        for (id, pair, user, choice) in fresh {
            if labels.texts[pair] == nil {
                try text.bind([.int(pair)])
                if let texts = try text.first({ ($0.string(0), $0.string(1)) }) { labels.texts[pair] = texts }
            }
            labels.record(annotation: id, pair: pair, user: user, choice: choice)
            labels.lastAnnotationID = id
        }
    }

    /// Normal judgements in the project.
    static func judgementCount(_ db: any Database, projectID: Int) throws -> Int {
        try db.queryFirst("SELECT count(*) FROM annotations WHERE project_id = ? AND kind = 'normal'", [.int(Int64(projectID))]) {
            $0.int(0)
        } ?? 0
    }

    // MARK: Candidates and priorities

    /// A uniform sample of the untouched pairs (about `sample` of them; all when
    /// fewer) plus those queued now, with texts and current priority. The sample is
    /// drawn on the covering index `pairs_fresh`, so only chosen pairs' texts are
    /// read. (Staged pairs of a running import may be drawn; a priority on them is
    /// harmless and ready when they become visible.)
    static func candidates(
        _ db: any Database, projectID: Int, sample: Int
    ) throws -> [(pair: Int64, a: String, b: String, priority: Double)] {
        let project = SQLValue.int(Int64(projectID))
        let fresh = "FROM pairs WHERE project_id = ? AND gold IS NULL AND active_count = 0"
        let freshCount = try db.queryFirst("SELECT count(*) \(fresh)", [project]) { $0.int(0) } ?? 0
        let stride = max(1, freshCount / max(1, sample))
        // One in `stride`, drawn by the engine (SQLite's random() is an integer, PostgreSQL's a fraction).
        let draw = db.dialect == .sqlite ? "abs(random()) % ?2 = 0" : "random() * ?2 < 1"
        var chosen = Set(try db.query("SELECT id \(fresh) AND (?2 = 1 OR \(draw))", [project, .int(Int64(stride))]) { $0.int64(0) })
        chosen.formUnion(try db.query("SELECT id \(fresh) AND priority != 0", [project]) { $0.int64(0) })
        let text = try db.statement("SELECT response_a, response_b, priority FROM pairs WHERE id = ?")
        return try chosen.sorted().compactMap { id in
            try text.bind([.int(id)])
            return try text.first { (id, $0.string(0), $0.string(1), $0.double(2)) }
        }
    }

    /// Writes priorities of pairs still untouched.
    static func setPriorities(_ db: any Database, _ priorities: ArraySlice<(pair: Int64, priority: Double)>) throws {
        let update = try db.statement("UPDATE pairs SET priority = ? WHERE id = ? AND active_count = 0")
        for (pair, priority) in priorities {
            try update.bind([.double(priority), .int(pair)])
            try update.run()
        }
    }

    /// Records a training of the project's selection model.
    static func recordTraining(_ db: any Database, projectID: Int, judgements: Int, trainedPairs: Int, scoredPairs: Int, at: Int64) throws {
        try db.run(
            """
            INSERT INTO selection_models (project_id, judgements, retrains, trained_pairs, scored_pairs, trained_at)
            VALUES (?, ?, 1, ?, ?, ?)
            ON CONFLICT (project_id) DO UPDATE SET judgements = excluded.judgements, retrains = selection_models.retrains + 1,
                trained_pairs = excluded.trained_pairs, scored_pairs = excluded.scored_pairs, trained_at = excluded.trained_at
            """,
            [
                .int(Int64(projectID)), .int(Int64(judgements)), .int(Int64(trainedPairs)), .int(Int64(scoredPairs)),
                .text(Clock.iso8601(milliseconds: at)),
            ])
    }

    /// Whether the project has a trained selection model (`next` asks this).
    static func hasModel(_ db: any Database, projectID: Int) throws -> Bool {
        try db.queryFirst("SELECT 1 FROM selection_models WHERE project_id = ?", [.int(Int64(projectID))]) { _ in true } ?? false
    }

    // MARK: Status

    /// What the dashboard and the export manifest say about a project's collection.
    static func status(_ db: any Database, project: Project) throws -> CollectionStatus {
        let projectID = SQLValue.int(Int64(project.id))
        var status = CollectionStatus(settings: project.settings)
        let rule = project.settings.overlapRule
        if rule.isAdaptive && (rule.posterior != nil || rule.automatic) {
            status.raterAccuracy =
                try db.queryFirst(
                    "SELECT count(*), avg(accuracy), coalesce(sum(counted), 0) FROM rater_accuracy WHERE project_id = ?", [projectID]
                ) {
                    CollectionStatus.RaterAccuracy(raters: $0.int(0), mean: $0.optionalDouble(1), counted: $0.int(2))
                } ?? CollectionStatus.RaterAccuracy(raters: 0, mean: nil, counted: 0)
        }
        if rule.automatic { status.automaticThreshold = try threshold(db, projectID: project.id) }
        let model = try db.queryFirst(
            "SELECT judgements, retrains, trained_pairs, scored_pairs, trained_at FROM selection_models WHERE project_id = ?", [projectID]
        ) {
            CollectionStatus.SelectionModel(
                judgementsAtTraining: $0.int(0), retrains: $0.int(1), trainedPairs: $0.int(2),
                scoredPairs: $0.int(3), trainedAt: $0.string(4))
        }
        status.showsSelectionModel = project.settings.activeSelection || model != nil
        status.selectionModel = model
        status.judgementsBySelection = try db.query(
            """
            SELECT coalesce(selection, 'order'), count(*) FROM assignments
            WHERE project_id = ? AND kind = 'normal' AND state = 'completed' GROUP BY 1 ORDER BY 1
            """, [projectID]
        ) { ($0.string(0), $0.int(1)) }
        return status
    }
}

/// How a project collects: its overlap and selection policy and what the
/// adaptive worker has learnt so far. Shown on the dashboard and in manifests.
public struct CollectionStatus: Sendable {
    /// Rater accuracies the stop rule weighs votes with.
    public struct RaterAccuracy: Sendable, Equatable {
        public var raters: Int
        public var mean: Double?
        /// Of them, whose votes the stop rule counts (not flagged, not quarantined).
        public var counted: Int
    }

    /// The last training of the active-selection model.
    public struct SelectionModel: Sendable, Equatable {
        public var judgementsAtTraining: Int
        public var retrains: Int
        public var trainedPairs: Int
        public var scoredPairs: Int
        public var trainedAt: String
    }

    /// The settings the policy comes from.
    public var settings: ProjectSettings
    /// Present when the project has a weighted-posterior stop rule.
    public var raterAccuracy: RaterAccuracy?
    /// An automatic stop rule's threshold, once estimated.
    public var automaticThreshold: AutomaticThreshold?
    /// Whether the selection model is part of the status (active selection, or a model exists).
    public var showsSelectionModel = false
    /// Nil when not trained yet.
    public var selectionModel: SelectionModel?
    /// Completed normal judgements per way of choosing the pair (`order`, `model`, `random`).
    public var judgementsBySelection: [(selection: String, count: Int)] = []
}
