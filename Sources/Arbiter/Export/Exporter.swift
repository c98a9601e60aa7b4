import Glibc
import Agreement
import RewardModel
import JSON
public import Storage

/// Writes a project's preference dataset and its manifest (`OUT.manifest.json`).
///
/// Judgements: each rater's first on a pair; quarantined raters always left out,
/// flagged ones unless asked; every exclusion and every dropped pair is counted
/// in the manifest with its reason — nothing is dropped silently.
public enum Exporter {
    /// Runs the export; returns the manifest (also written beside the data).
    public static func run(_ db: any Database, project: Project, options: ExportOptions, out: String, now: Int64) throws -> ExportManifest {
        var predictions: [RewardPrediction] = []
        return try run(db, project: project, options: options, out: out, now: now, predictions: &predictions)
    }

    /// Runs the export; with a reward model, also fills `predictions` with its
    /// out-of-fold P(A better) per exported pair (see ``RewardPrediction``).
    public static func run(
        _ db: any Database, project: Project, options: ExportOptions, out: String, now: Int64,
        predictions: inout [RewardPrediction]
    ) throws -> ExportManifest {
        // Counts, agreement and data all describe one moment, however many
        // annotators submit meanwhile.
        var collected: [RewardPrediction] = []
        defer { predictions = collected }
        return try db.snapshot { try export(db, project: project, options: options, out: out, now: now, predictions: &collected) }
    }

    static func export(
        _ db: any Database, project: Project, options: ExportOptions, out: String, now: Int64,
        predictions: inout [RewardPrediction]
    ) throws -> ExportManifest {
        let exclusions = try Exclusions(db, project: project, options: options)
        let (quarantined, flagged) = (exclusions.quarantined, exclusions.flagged)
        let names = try Users.usernames(db)
        var manifest = ExportManifest(projectID: project.id, projectName: project.name, createdAt: now, options: options)
        manifest.excludedRaters =
            quarantined.sorted().map { (names[$0], "quarantined") }
            + flagged.sorted().map { (names[$0], "flagged: \(exclusions.findings[$0]?.rawValue ?? "malicious")") }
        manifest.weightedRaters = exclusions.weighted.compactMap { names[$0] }.sorted()
        if options.rewardModel != nil && !options.format.isPairwise {
            throw ValidationError("a reward model trains on pairwise exports (trl, openai, hh-rlhf, sft), not \(options.format.rawValue)")
        }
        if project.settings.kind != .pairwise && options.format.isPairwise || options.format == .helpsteer || options.format == .rewriteSFT
        {
            var training = options.rewardModel.map { _ in PreferenceSetBuilder(hasher: FeatureHasher(bits: options.rewardTraining.bits)) }
            let result = try exportTasks(
                db, project: project, options: options, excluded: quarantined.union(flagged), out: out, training: &training)
            manifest.counts = .pairwise(
                exported: result.exported, used: result.used, excluded: result.excluded,
                dropped: result.dropped.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, reviewerLabels: 0,
                goldLabels: 0)
            manifest.files = result.files
            if let directory = options.rewardModel, let listwise = result.listwise {
                let (data, listTest, scoredTest) = listwise
                guard data.lists.count + data.scored.count >= 10 else {
                    throw ValidationError(
                        "a reward model needs at least 10 rankings or rated responses; this export has \(data.lists.count + data.scored.count)"
                    )
                }
                let split = { (flags: [Bool]) in (flags.indices.filter { !flags[$0] }, flags.indices.filter { flags[$0] }) }
                let metrics = try RewardTraining.trainListwise(
                    data, lists: split(listTest), scored: split(scoredTest), out: directory,
                    options: options.rewardTraining, progress: options.rewardProgress)
                manifest.rewardModel = .init(
                    directory: directory, heldOut: options.testFraction == nil ? "a seeded 10% of the tasks" : "the test split's tasks",
                    metrics: metrics)
            } else if let directory = options.rewardModel, let training {
                manifest.rewardModel = try trainPairs(training, directory: directory, options: options).info
            }
        } else if options.format.isPairwise {
            manifest.judges = try judgeUse(db, project: project, options: options)
            let decisions = try decide(
                db, project: project, options: options, excluded: quarantined.union(flagged), judges: manifest.judges)
            manifest.judges.votes = decisions.judgeVotes
            let names = Dictionary(uniqueKeysWithValues: try Judges.list(db, projectID: project.id).map { ($0.id, $0.name) })
            for poor in decisions.judgesTooPoor {
                guard let name = names[poor.id] else { continue }
                manifest.judges.names.removeAll { $0 == name }
                manifest.judges.leftOut.append(
                    (
                        name,
                        "estimated accuracy \(Int((poor.accuracy * 100).rounded()))% on \(poor.shared) pairs shared with people, "
                            + "below \(Int(Judges.minimumAccuracy * 100))%"
                    ))
            }
            if manifest.judges.names.isEmpty && manifest.judges.counted {
                manifest.judges.counted = false
                manifest.judges.reason = "no judge could be counted"
            }
            manifest.counts = .pairwise(
                exported: decisions.winners.count, used: decisions.used, excluded: decisions.excludedAnnotations,
                dropped: decisions.dropped.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                reviewerLabels: decisions.reviewerLabelled.count, goldLabels: decisions.goldLabelled.count)
            var training = options.rewardModel.map { _ in PreferenceSetBuilder(hasher: FeatureHasher(bits: options.rewardTraining.bits)) }
            manifest.files = try writePairwise(
                db, project: project, options: options, decisions: decisions, out: out, training: &training,
                excluded: quarantined.union(flagged))
            if let directory = options.rewardModel, let training {
                let (info, data, pairs) = try trainPairs(training, directory: directory, options: options)
                manifest.rewardModel = info
                if options.rewardOutOfFold && data.count >= 50 {
                    let probabilities = BradleyTerryTrainer.outOfFold(data, folds: 5, options: options.rewardTraining.trainer)
                    predictions = zip(pairs, probabilities).map { pair, p in
                        RewardPrediction(pairID: pair.id, probabilityA: pair.aWins ? Double(p) : 1 - Double(p))
                    }
                }
            }
        } else {
            let (written, excluded) = try writeRaw(
                db, project: project, options: options, excluding: quarantined, flagged: flagged, names: names, out: out)
            manifest.files = [written]
            manifest.counts = .raw(annotations: written.lines, excluded: excluded)
        }
        manifest.agreement = try AgreementService.agreement(db, projectID: project.id, bootstrap: 0)
        // How the judgements were collected: overlap rule, pair selection, and how
        // many first judgements each selection gave (the random share is unbiased).
        manifest.collection = try SelectionModels.status(db, project: project)
        if options.manifestPathsRelative {
            let base = { (path: String) in String(path.split(separator: "/", omittingEmptySubsequences: false).last ?? "") }
            for index in manifest.files.indices { manifest.files[index].path = base(manifest.files[index].path) }
            if let directory = manifest.rewardModel?.directory { manifest.rewardModel?.directory = base(directory) }
        }
        let writer = try HashingFileWriter(path: out + ".manifest.json")
        try writer.write(manifest.json.jsonText + "\n")
        _ = try writer.close()
        return manifest
    }

    /// Trains the pairwise reward model on an export's pairs into `directory`.
    static func trainPairs(
        _ training: PreferenceSetBuilder, directory: String, options: ExportOptions
    ) throws
        -> (info: ExportManifest.RewardModelSummary, data: PreferenceSet, pairs: [(id: Int64, aWins: Bool)])
    {
        var training = training
        let (data, trainingIndices, testIndices, pairs, fromSplit) = training.finish(seed: options.rewardTraining.seed)
        guard data.count >= 10 else {
            throw ValidationError("a reward model needs at least 10 exported pairs; this export has \(data.count)")
        }
        let metrics = try RewardTraining.train(
            data, training: trainingIndices, test: testIndices, out: directory,
            options: options.rewardTraining, progress: options.rewardProgress)
        let heldOut =
            fromSplit
            ? "the test split"
            : options.testFraction == nil ? "seeded 10% of the export" : "seeded 10% of the export (the test split was empty)"
        let info = ExportManifest.RewardModelSummary(directory: directory, heldOut: heldOut, metrics: metrics)
        return (info, data, pairs)
    }

    // MARK: Aggregation

    /// Whose judgements an export leaves out, and whose it keeps only to weigh.
    ///
    /// Quarantined raters are always left out; flagged ones unless the export asks
    /// for them — except from a weighted pairwise decision, which weighs every vote
    /// by its rater's Dawid–Skene confusion matrix: there raters flagged only on
    /// how often they are right (unreliable, at chance: weight ≈ 0, inverting: read
    /// backwards) keep their votes for what they are worth, and only those flagged
    /// for a pattern the confusion matrix cannot model (position, speed, length,
    /// partners, target words) are left out. Dropping an informative vote can only
    /// lose label quality. The item browser uses the same rules, so the decision a
    /// reviewer sees is the one the export writes.
    struct Exclusions: Sendable {
        var quarantined: Set<Int>
        /// Flagged raters left out (not quarantined, not weighted).
        var flagged: Set<Int>
        /// Flagged raters whose votes are kept and weighed.
        var weighted: Set<Int>
        var findings: [Int: RaterFinding]

        init(_ db: any Database, project: Project, options: ExportOptions) throws {
            quarantined = try RaterStatus.quarantined(db, projectID: project.id)
            let flaggedRaters =
                options.includeFlagged
                ? [:] : try RaterQuery.flaggedRaters(db, projectID: project.id).filter { [quarantined] in !quarantined.contains($0.key) }
            findings = flaggedRaters.mapValues(\.finding)
            let weighsRaters = options.aggregate == .weighted && options.format.isPairwise && project.settings.kind == .pairwise
            weighted = Set(flaggedRaters.filter { weighsRaters && ($0.value.finding == .unreliable || $0.value.onAccuracy) }.keys)
            flagged = Set(findings.keys).subtracting(weighted)
        }

        var excluded: Set<Int> { quarantined.union(flagged) }

        /// Why a rater's judgements are left out (nil: they count).
        func reason(_ user: Int) -> String? {
            if quarantined.contains(user) { return "quarantined" }
            if flagged.contains(user) { return "flagged: \(findings[user]?.rawValue ?? "malicious")" }
            return nil
        }
    }

    struct Decisions: Sendable {
        /// pair row id → (winner is A, winning share, mean strength of the winning votes).
        var winners: [Int64: (aWins: Bool, share: Double, strength: Double)] = [:]
        var dropped: [String: Int] = [:]
        var used = 0
        var excludedAnnotations = 0
        /// Pairs whose label is a reviewer's final label, not the crowd's.
        var reviewerLabelled: Set<Int64> = []
        /// Gold pairs without a final label: their label is their key.
        var goldLabelled: Set<Int64> = []
        /// Why each pair without a winner has none (`no_majority`, `tie`, `reviewer_tie`, …).
        var droppedPairs: [Int64: String] = [:]
        /// Judges' verdicts counted, and judges left out as estimated too poor.
        var judgeVotes = 0
        var judgesTooPoor: [(id: Int64, accuracy: Double, shared: Int)] = []

        /// Whose decision a pair's exported label is.
        func labelSource(_ pair: Int64) -> String {
            reviewerLabelled.contains(pair) ? "reviewer" : goldLabelled.contains(pair) ? "gold" : "crowd"
        }
    }

    static func decide(
        _ db: any Database, project: Project, options: ExportOptions, excluded: Set<Int>, judges: ExportManifest.JudgeUse = .init()
    ) throws -> Decisions {
        var decisions = Decisions()
        var pairIDs: [Int64] = []
        var unitOf: [Int64: Int] = [:]
        var judgements: [(unit: Int, rater: Int, label: Int, strength: Int)] = []
        var raterIndex: [Int: Int] = [:]
        var previous: (Int64, Int) = (-1, -1)
        try ExportReads.firstJudgements(db, projectID: project.id) { pair, user, choice, strength in
            guard (pair, user) != previous else { return }
            previous = (pair, user)
            if excluded.contains(user) {
                decisions.excludedAnnotations += 1
                return
            }
            let unit =
                unitOf[pair]
                ?? {
                    unitOf[pair] = pairIDs.count
                    pairIDs.append(pair)
                    return pairIDs.count - 1
                }()
            let rater =
                raterIndex[user]
                ?? {
                    raterIndex[user] = raterIndex.count
                    return raterIndex.count - 1
                }()
            judgements.append((unit, rater, Choice.category(stored: choice), strength ?? 1))
        }
        decisions.used = judgements.count
        // Judges' verdicts on the pairs people judged (a pair no person judged is not
        // settled by models alone): with judges counted, a pair's side is the sign of
        // its log-odds as adaptive overlap computes them — each person's and each
        // judge's push by class-conditional rates estimated together, shrunk — so
        // the export labels what the stop rule settled. (Dawid–Skene over the
        // people alone is not usable then: most pairs have one person, and a rater
        // seen on few shared pairs can come out of it inverted.)
        let evidence = judges.counted ? try judgeEvidence(db, project: project, judges: judges, people: judgements, pairIDs: pairIDs) : nil
        decisions.judgeVotes = evidence?.votes ?? 0
        decisions.judgesTooPoor = evidence?.tooPoor ?? []
        var byUnit = Array(repeating: [Int](), count: pairIDs.count)
        for (index, judgement) in judgements.enumerated() { byUnit[judgement.unit].append(index) }
        let model =
            options.aggregate == .weighted && !judgements.isEmpty
            ? DawidSkene.estimate(judgements.map { ($0.unit, $0.rater, $0.label) }, units: pairIDs.count, raters: raterIndex.count)
            : nil
        // Why the crowd's judgements gave no preference, per pair (a final label may overrule it).
        var droppedPairs: [Int64: String] = [:]
        var crowdStrength: [Int64: (aWins: Bool, strength: Double)] = [:]
        for unit in 0..<pairIDs.count {
            var counts = [0, 0, 0, 0]
            for index in byUnit[unit] { counts[judgements[index].label] += 1 }
            let winner: Int
            let share: Double
            if let model, let evidence {
                // Judges say nothing of "tie" or "both bad": the pair is either only
                // when most of its people said so (which one, by the people's
                // Dawid–Skene posterior); A against B from the log-odds.
                let posterior = model.posteriors[unit]
                let odds = evidence.logOdds[unit]
                if counts[2] + counts[3] > counts[0] + counts[1] {
                    winner = posterior[2] >= posterior[3] ? 2 : 3
                    share = Double(counts[2] + counts[3]) / Double(counts.reduce(0, +))
                } else if odds == 0 {
                    droppedPairs[pairIDs[unit]] = counts[0] + counts[1] == 0 ? "tie" : "no_majority"
                    continue
                } else {
                    winner = odds > 0 ? 0 : 1
                    share = 1 / (1 + exp(-abs(odds)))
                }
            } else if let model {
                let posterior = model.posteriors[unit]
                winner = posterior.indices.max { posterior[$0] < posterior[$1] }!
                share = posterior[winner]
            } else {
                let best = counts.max()!
                guard counts.filter({ $0 == best }).count == 1 else {
                    droppedPairs[pairIDs[unit]] = "no_majority"
                    continue
                }
                winner = counts.firstIndex(of: best)!
                share = Double(best) / Double(counts.reduce(0, +))
            }
            guard winner < 2 else {
                droppedPairs[pairIDs[unit]] = winner == 2 ? "tie" : "both_bad"
                continue
            }
            let strengths = byUnit[unit].filter { judgements[$0].label == winner }.map { Double(judgements[$0].strength) }
            let strength = strengths.isEmpty ? 1 : strengths.reduce(0, +) / Double(strengths.count)
            crowdStrength[pairIDs[unit]] = (winner == 0, strength)
            guard share >= options.minAgreement else {
                droppedPairs[pairIDs[unit]] = "below_min_agreement"
                continue
            }
            decisions.winners[pairIDs[unit]] = (winner == 0, share, strength)
        }
        // A label that replaces the crowd's decision, whatever it was: A or B is
        // exported (a share of 1; the agreeing votes' strength, or 1), tie or
        // both_bad is dropped as `<source>_tie` / `<source>_both_bad`.
        func impose(_ label: String, on pair: Int64, source: String) -> Bool {
            droppedPairs[pair] = nil
            decisions.winners[pair] = nil
            guard label == "A" || label == "B" else {
                droppedPairs[pair] = source + "_" + label
                return false
            }
            let aWins = label == "A"
            let crowd = crowdStrength[pair]
            decisions.winners[pair] = (aWins, 1, crowd?.aWins == aWins ? crowd!.strength : 1)
            return true
        }
        // A gold pair's label is its key (label_source "gold"): the crowd is
        // measured against it, never the other way round.
        for (pair, gold) in try ExportReads.goldPairs(db, projectID: project.id) where impose(gold, on: pair, source: "gold") {
            decisions.goldLabelled.insert(pair)
        }
        // Reviewers' final labels replace the crowd's decision and a gold key.
        for (pair, label) in try PairLabels.all(db, projectID: project.id) {
            decisions.goldLabelled.remove(pair)
            if impose(label, on: pair, source: "reviewer") { decisions.reviewerLabelled.insert(pair) }
        }
        for reason in droppedPairs.values { decisions.dropped[reason, default: 0] += 1 }
        decisions.droppedPairs = droppedPairs
        return decisions
    }
}
