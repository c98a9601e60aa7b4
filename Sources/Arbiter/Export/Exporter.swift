import Agreement
import RewardModel
public import JSON
public import Storage

/// Writes a project's preference dataset and its manifest (`OUT.manifest.json`).
///
/// Judgements: each rater's first on a pair; quarantined raters always left out,
/// flagged ones unless asked; every exclusion and every dropped pair is counted
/// in the manifest with its reason — nothing is dropped silently.
public enum Exporter {
    /// Runs the export; returns the manifest (also written beside the data).
    public static func run(_ db: Database, project: Project, options: ExportOptions, out: String, now: Int64) throws -> JSONValue {
        var predictions: [RewardPrediction] = []
        return try run(db, project: project, options: options, out: out, now: now, predictions: &predictions)
    }

    /// Runs the export; with a reward model, also fills `predictions` with its
    /// out-of-fold P(A better) per exported pair (see ``RewardPrediction``).
    public static func run(_ db: Database, project: Project, options: ExportOptions, out: String, now: Int64,
                           predictions: inout [RewardPrediction]) throws -> JSONValue {
        // Counts, agreement and data all describe one moment, however many
        // annotators submit meanwhile.
        var collected: [RewardPrediction] = []
        defer { predictions = collected }
        return try db.snapshot { try export(db, project: project, options: options, out: out, now: now, predictions: &collected) }
    }

    static func export(_ db: Database, project: Project, options: ExportOptions, out: String, now: Int64,
                       predictions: inout [RewardPrediction]) throws -> JSONValue {
        let quarantined = try RaterStatus.quarantined(db, projectID: project.id)
        let flagged = options.includeFlagged ? [] : try RaterQuery.flaggedUserIDs(db, projectID: project.id).subtracting(quarantined)
        var names: [Int: String] = [:]
        try db.query("SELECT id, username FROM users") { names[$0.int(0)] = $0.string(1) }
        let excludedRaters: [JSONValue] = quarantined.sorted().map { ["annotator": JSONValue(names[$0]), "reason": "quarantined"] }
            + flagged.sorted().map { ["annotator": JSONValue(names[$0]), "reason": "flagged"] }

        var files: [JSONValue] = []
        var counts: JSONObject = [:]
        var reward: JSONValue = .null
        if options.rewardModel != nil && !options.format.isPairwise {
            throw ValidationError("a reward model trains on pairwise exports (trl, openai, hh-rlhf, sft), not \(options.format.rawValue)")
        }
        if options.format.isPairwise {
            let decisions = try decide(db, project: project, options: options, excluded: quarantined.union(flagged))
            var dropped = JSONObject()
            for (reason, count) in decisions.dropped.sorted(by: { $0.key < $1.key }) { dropped[reason] = .int(Int64(count)) }
            counts = [
                "pairs_exported": .int(Int64(decisions.winners.count)), "annotations_used": .int(Int64(decisions.used)),
                "annotations_excluded": .int(Int64(decisions.excludedAnnotations)), "dropped": .object(dropped),
            ]
            var training = options.rewardModel.map { _ in PreferenceSetBuilder(hasher: FeatureHasher(bits: options.rewardTraining.bits)) }
            files = try writePairwise(db, project: project, options: options, decisions: decisions, out: out, training: &training)
            if let directory = options.rewardModel, var training {
                let (data, trainingIndices, testIndices, pairs) = training.finish(seed: options.rewardTraining.seed)
                guard data.count >= 10 else {
                    throw ValidationError("a reward model needs at least 10 exported pairs; this export has \(data.count)")
                }
                let metrics = try RewardTraining.train(data, training: trainingIndices, test: testIndices, out: directory,
                                                       options: options.rewardTraining, progress: options.rewardProgress)
                if options.rewardOutOfFold && data.count >= 50 {
                    let probabilities = BradleyTerryTrainer.outOfFold(data, folds: 5, options: options.rewardTraining.trainer)
                    predictions = zip(pairs, probabilities).map { pair, p in
                        RewardPrediction(pairID: pair.id, probabilityA: pair.aWins ? Double(p) : 1 - Double(p))
                    }
                }
                reward = ["directory": .string(directory), "held_out": .string(options.testFraction == nil ? "seeded 10% of the export" : "the test split"),
                          "metrics": metrics]
            }
        } else {
            let (written, excluded) = try writeRaw(db, project: project, options: options, excluding: quarantined, flagged: flagged, names: names, out: out)
            files = [written]
            counts = ["annotations": written["lines"] ?? 0, "annotations_excluded": .int(Int64(excluded))]
        }
        let agreement = try AgreementQuery.report(db, projectID: project.id, bootstrap: 0)
        let manifest: JSONValue = [
            "project": ["id": .int(Int64(project.id)), "name": .string(project.name)],
            "created_at": .string(Clock.iso8601(milliseconds: now)), "format": .string(options.format.rawValue),
            "filters": [
                "aggregate": .string(options.aggregate.rawValue), "min_agreement": .double(options.minAgreement),
                "include_flagged": .bool(options.includeFlagged), "test_fraction": options.testFraction.map { .double($0) } ?? .null,
                "seed": .int(Int64(bitPattern: options.seed)), "margin": .bool(options.margin),
            ],
            "counts": .object(counts), "excluded_raters": .array(excludedRaters),
            "agreement": [
                "krippendorff_alpha": agreement["krippendorff_alpha"] ?? .null, "fleiss_kappa": agreement["fleiss_kappa"]?["value"] ?? .null,
                "judgements": agreement["judgements"] ?? .null,
            ],
            "files": .array(files), "reward_model": reward,
            // How the judgements were collected: overlap rule, pair selection, and how
            // many first judgements each selection gave (the random share is unbiased).
            "collection": try SelectionRepository.status(db, project: project).json,
        ]
        let writer = try HashingFileWriter(path: out + ".manifest.json")
        try writer.write(manifest.jsonText + "\n")
        _ = try writer.close()
        return manifest
    }

    // MARK: Aggregation

    struct Decisions {
        /// pair row id → (winner is A, winning share, mean strength of the winning votes).
        var winners: [Int64: (aWins: Bool, share: Double, strength: Double)] = [:]
        var dropped: [String: Int] = [:]
        var used = 0
        var excludedAnnotations = 0
    }

    static func decide(_ db: Database, project: Project, options: ExportOptions, excluded: Set<Int>) throws -> Decisions {
        var decisions = Decisions()
        var pairIDs: [Int64] = []
        var unitOf: [Int64: Int] = [:]
        var judgements: [(unit: Int, rater: Int, label: Int, strength: Int)] = []
        var raterIndex: [Int: Int] = [:]
        var previous: (Int64, Int) = (-1, -1)
        let rows = try db.statement(
            "SELECT pair_id, user_id, choice, strength FROM annotations WHERE project_id = ? AND kind != 'repeat' ORDER BY pair_id, user_id, id")
        try rows.bind([.int(Int64(project.id))])
        try rows.forEach { row in
            let pair = row.int64(0)
            let user = row.int(1)
            guard (pair, user) != previous else { return }
            previous = (pair, user)
            if excluded.contains(user) {
                decisions.excludedAnnotations += 1
                return
            }
            let unit = unitOf[pair] ?? {
                unitOf[pair] = pairIDs.count
                pairIDs.append(pair)
                return pairIDs.count - 1
            }()
            let rater = raterIndex[user] ?? {
                raterIndex[user] = raterIndex.count
                return raterIndex.count - 1
            }()
            let label = Choice.category(stored: row.string(2))
            judgements.append((unit, rater, label, row.optionalInt(3) ?? 1))
        }
        decisions.used = judgements.count
        var byUnit = Array(repeating: [Int](), count: pairIDs.count)
        for (index, judgement) in judgements.enumerated() { byUnit[judgement.unit].append(index) }
        let model = options.aggregate == .weighted && !judgements.isEmpty
            ? DawidSkene.estimate(judgements.map { ($0.unit, $0.rater, $0.label) }, units: pairIDs.count, raters: raterIndex.count)
            : nil
        for unit in 0..<pairIDs.count {
            var counts = [0, 0, 0, 0]
            for index in byUnit[unit] { counts[judgements[index].label] += 1 }
            let winner: Int
            let share: Double
            if let model {
                let posterior = model.posteriors[unit]
                winner = posterior.indices.max { posterior[$0] < posterior[$1] }!
                share = posterior[winner]
            } else {
                let best = counts.max()!
                guard counts.filter({ $0 == best }).count == 1 else {
                    decisions.dropped["no_majority", default: 0] += 1
                    continue
                }
                winner = counts.firstIndex(of: best)!
                share = Double(best) / Double(counts.reduce(0, +))
            }
            guard winner < 2 else {
                decisions.dropped[winner == 2 ? "tie" : "both_bad", default: 0] += 1
                continue
            }
            guard share >= options.minAgreement else {
                decisions.dropped["below_min_agreement", default: 0] += 1
                continue
            }
            let strengths = byUnit[unit].filter { judgements[$0].label == winner }.map { Double(judgements[$0].strength) }
            decisions.winners[pairIDs[unit]] = (winner == 0, share, strengths.isEmpty ? 1 : strengths.reduce(0, +) / Double(strengths.count))
        }
        return decisions
    }
}
