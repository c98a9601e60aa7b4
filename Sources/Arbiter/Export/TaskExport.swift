import Agreement
import JSON
import RewardModel
import Storage

/// Exports of ranking and rating projects, and of rewrites in any project.
///
/// Each rater's first judgement per task counts (quarantined and, unless asked,
/// flagged raters left out, as for pairs). Raters are weighted by their
/// Dawid–Skene accuracy on the implied pairs (`--aggregate weighted`, the
/// default) or equally (`majority`):
///
/// - a ranking task's consensus is the weighted mean rank of each response (equal
///   means tie); its pairs are all implied ones (weight 1/C(K,2), InstructGPT's) or
///   the adjacent ones (weight 1/(K−1)); tied responses give no pair;
/// - a rating task's scores are weighted means per attribute; a pair is two
///   responses whose mean scores differ by at least `min_gap`;
/// - `helpsteer` writes one line per response with its mean scores;
/// - `rewrite-sft` writes each rewrite as `messages` ending in the rewritten
///   assistant turn; `rewrite_pairs` adds "rewritten > original" pairs.
extension Exporter {
    /// One task's texts and the counted judgements on it.
    struct TaskRecord {
        var id: Int64
        var externalID: String
        var prompt: Prompt
        var responses: [String]
        var judgements: [ExportReads.TaskJudgement] = []
    }

    /// What a task export wrote.
    struct TaskExportResult {
        var files: [ExportManifest.File]
        var exported = 0
        var used = 0
        var excluded = 0
        var dropped: [String: Int] = [:]
        /// Rankings and rated responses for the listwise reward model, with which
        /// are held out (by task: a task's rankings stay together).
        var listwise: (data: ListwiseData, listTest: [Bool], scoredTest: [Bool])?
    }

    static func exportTasks(
        _ db: any Database, project: Project, options: ExportOptions, excluded: Set<Int>, out: String,
        training: inout PreferenceSetBuilder?
    ) throws -> TaskExportResult {
        var tasks: [TaskRecord] = []
        var index: [Int64: Int] = [:]
        try ExportReads.tasks(db, projectID: project.id) { id, externalID, prompt, responses in
            index[id] = tasks.count
            tasks.append(TaskRecord(id: id, externalID: externalID, prompt: prompt, responses: responses))
        }
        var result = TaskExportResult(files: [])
        var previous: (Int64, Int) = (-1, -1)
        try ExportReads.taskJudgements(db, projectID: project.id) { judgement in
            guard (judgement.pair, judgement.user) != previous else { return }
            previous = (judgement.pair, judgement.user)
            if excluded.contains(judgement.user) {
                result.excluded += 1
                return
            }
            guard let at = index[judgement.pair] else { return }
            tasks[at].judgements.append(judgement)
            result.used += 1
        }
        let weights = options.aggregate == .weighted ? raterWeights(tasks, attributes: project.settings.attributes) : [:]
        func weight(_ user: Int) -> Double { weights[user] ?? 1 }

        let writer = try SplitWriter(out: out, options: options, items: tasks.filter { !$0.judgements.isEmpty }.map(\.externalID))
        func write(_ line: [UInt8], task: TaskRecord) throws -> Bool {
            result.exported += 1
            return try writer.write(line, externalID: task.externalID)
        }
        let attributes = project.settings.attributes
        if options.rewardModel != nil && options.rewardLoss == .auto && options.format.isPairwise {
            result.listwise = (ListwiseData(hasher: FeatureHasher(bits: options.rewardTraining.bits)), [], [])
            training = nil
        }
        for (taskIndex, task) in tasks.enumerated() {
            let count = task.responses.count
            if result.listwise != nil {
                // Held out: the test split's tasks, or a seeded 10% of them.
                let isTest =
                    options.testFraction == nil
                    ? inTest(task.externalID, seed: options.rewardTraining.seed ^ 0x5EED, fraction: 0.1) : writer.isTest(task.externalID)
                addListwise(
                    task, index: taskIndex, kind: project.settings.kind, attributes: attributes, weight: weight, test: isTest,
                    into: &result.listwise!)
            }
            switch options.format {
            case .helpsteer:
                guard project.settings.kind == .rating else {
                    throw ValidationError("format: helpsteer exports rating projects (this one is \(project.settings.kind.rawValue))")
                }
                let rated = task.judgements.filter { $0.ratings?.scores.count == count }
                guard !rated.isEmpty else {
                    result.dropped["not_rated", default: 0] += 1
                    continue
                }
                for response in 0..<count {
                    var object: JSONObject = ["task_id": .string(task.externalID), "response_index": .int(Int64(response))]
                    object["prompt"] = task.prompt.json
                    object["response"] = .string(task.responses[response])
                    for attribute in attributes {
                        object[attribute] = .double(
                            weightedMean(
                                rated.compactMap { judgement in
                                    judgement.ratings?.scores[response][attribute].map { (Double($0), weight(judgement.user)) }
                                }))
                    }
                    object["raters"] = .int(Int64(rated.count))
                    _ = try write(line(object), task: task)
                }
            case .rewriteSFT:
                for judgement in task.judgements {
                    guard let rewrite = judgement.rewrite else { continue }
                    let object: JSONObject = [
                        "messages": .array(messages(task.prompt) + [["role": "assistant", "content": .string(rewrite.text)]]),
                        "task_id": .string(task.externalID), "base": .int(Int64(rewrite.base)),
                    ]
                    _ = try write(line(object), task: task)
                }
            default:
                guard options.format.isPairwise else { continue }
                for pair in consensusPairs(
                    task, kind: project.settings.kind, attributes: attributes, options: options, weight: weight,
                    dropped: &result.dropped)
                {
                    let (chosen, rejected) = (task.responses[pair.chosen], task.responses[pair.rejected])
                    let bytes =
                        options.format == .sft
                        ? options.format.preferenceLine(
                            prompt: task.prompt, chosen: chosen, rejected: rejected, margin: nil, labelSource: "crowd")
                        : options.format.preferenceLine(
                            prompt: task.prompt, chosen: chosen, rejected: rejected,
                            margin: options.margin ? pair.margin : nil, labelSource: "crowd", weight: pair.weight)
                    let isTest = try write(bytes, task: task)
                    training?.append(chosen: chosen, rejected: rejected, margin: Float(options.margin ? pair.margin : 0), test: isTest)
                }
            }
        }
        if options.rewritePairs && options.format.isPairwise {
            let before = writer.lines.train + writer.lines.test
            try writeRewritePairs(db, project: project, options: options, excluded: excluded, writer: writer, training: &training)
            result.exported += writer.lines.train + writer.lines.test - before
        }
        result.files = try writer.close()
        return result
    }

    /// A task's rankings (each counted one) or its responses' weighted mean scores,
    /// for the listwise reward model.
    static func addListwise(
        _ task: TaskRecord, index: Int, kind: TaskKind, attributes: [String], weight: (Int) -> Double, test: Bool,
        into listwise: inout (data: ListwiseData, listTest: [Bool], scoredTest: [Bool])
    ) {
        let count = task.responses.count
        switch kind {
        case .ranking:
            let rankings = task.judgements.compactMap { $0.ranking }.filter { $0.covers(count) }
            guard !rankings.isEmpty else { return }
            let rows = task.responses.map { listwise.data.add($0) }
            for ranking in rankings {
                listwise.data.lists.append(ranking.groups.map { $0.map { rows[$0] } })
                listwise.listTest.append(test)
            }
        case .rating:
            let rated = task.judgements.filter { $0.ratings?.scores.count == count }
            guard !rated.isEmpty else { return }
            for response in 0..<count {
                let target = weightedMean(rated.map { ($0.ratings!.mean(response, attributes: attributes), weight($0.user)) })
                listwise.data.scored.append((listwise.data.add(task.responses[response]), target, index))
                listwise.scoredTest.append(test)
            }
        case .pairwise:
            break
        }
    }

    /// A pair derived from a task: indices, its row weight and margin.
    struct DerivedPair {
        var chosen: Int
        var rejected: Int
        var weight: Double?
        var margin: Double
    }

    /// The consensus of a task as preference pairs (SFT: the single best response
    /// against the next).
    static func consensusPairs(
        _ task: TaskRecord, kind: TaskKind, attributes: [String], options: ExportOptions, weight: (Int) -> Double,
        dropped: inout [String: Int]
    ) -> [DerivedPair] {
        let count = task.responses.count
        // Higher is better: minus the mean rank, or the mean score.
        var score = [Double](repeating: 0, count: count)
        switch kind {
        case .ranking:
            let ranked = task.judgements.compactMap { judgement in
                judgement.ranking.map { ($0.ranks(count: count), weight(judgement.user)) }
            }
            guard !ranked.isEmpty else {
                dropped["not_ranked", default: 0] += 1
                return []
            }
            for response in 0..<count { score[response] = -weightedMean(ranked.map { ($0.0[response], $0.1) }) }
        case .rating:
            let rated = task.judgements.filter { $0.ratings?.scores.count == count }
            guard !rated.isEmpty else {
                dropped["not_rated", default: 0] += 1
                return []
            }
            for response in 0..<count {
                score[response] = weightedMean(rated.map { ($0.ratings!.mean(response, attributes: attributes), weight($0.user)) })
            }
        case .pairwise:
            return []
        }
        let order = score.indices.sorted { (score[$0], -$0) > (score[$1], -$1) }
        if options.format == .sft {
            guard count >= 2, score[order[0]] > score[order[1]] else {
                dropped["tie", default: 0] += 1
                return []
            }
            return [DerivedPair(chosen: order[0], rejected: order[1], weight: nil, margin: score[order[0]] - score[order[1]])]
        }
        var pairs: [DerivedPair] = []
        switch kind {
        case .ranking:
            // Groups of equal consensus, best first.
            var groups: [[Int]] = []
            for response in order {
                if let last = groups.last?.first, score[last] == score[response] {
                    groups[groups.count - 1].append(response)
                } else {
                    groups.append([response])
                }
            }
            let total = Double(count * (count - 1) / 2)
            if options.rankingPairs == .adjacent {
                for g in groups.indices.dropLast() {
                    for better in groups[g] {
                        for worse in groups[g + 1] {
                            pairs.append(
                                DerivedPair(
                                    chosen: better, rejected: worse, weight: 1 / Double(count - 1), margin: score[better] - score[worse]))
                        }
                    }
                }
            } else {
                for g in groups.indices {
                    for h in groups.indices where h > g {
                        for better in groups[g] {
                            for worse in groups[h] {
                                pairs.append(
                                    DerivedPair(chosen: better, rejected: worse, weight: 1 / total, margin: score[better] - score[worse]))
                            }
                        }
                    }
                }
            }
            let tied = groups.reduce(0) { $0 + $1.count * ($1.count - 1) / 2 }
            if tied > 0 { dropped["tie", default: 0] += tied }
        case .rating:
            for i in 0..<count {
                for j in (i + 1)..<count {
                    let gap = score[i] - score[j]
                    guard abs(gap) >= options.minGap, gap != 0 else {
                        dropped["below_min_gap", default: 0] += 1
                        continue
                    }
                    pairs.append(
                        gap > 0
                            ? DerivedPair(chosen: i, rejected: j, weight: nil, margin: gap)
                            : DerivedPair(chosen: j, rejected: i, weight: nil, margin: -gap))
                }
            }
        case .pairwise:
            break
        }
        return pairs
    }

    /// Each rater's Dawid–Skene accuracy on the implied pairs (A, B, tie), at least 0.05.
    static func raterWeights(_ tasks: [TaskRecord], attributes: [String]) -> [Int: Double] {
        var judgements: [(unit: Int, rater: Int, label: Int)] = []
        var raters: [Int: Int] = [:]
        var units = 0
        for task in tasks {
            let count = task.responses.count
            let implied: [(Int, (Int, Int) -> Choice)] = task.judgements.compactMap { judgement in
                ImpliedComparison(ranking: judgement.ranking, ratings: judgement.ratings, count: count, attributes: attributes)
                    .map { (judgement.user, $0.choice) }
            }
            guard !implied.isEmpty else { continue }
            for i in 0..<count {
                for j in (i + 1)..<count {
                    for (user, choice) in implied {
                        let rater =
                            raters[user]
                            ?? {
                                raters[user] = raters.count
                                return raters.count - 1
                            }()
                        judgements.append((units, rater, choice(i, j).category))
                    }
                    units += 1
                }
            }
        }
        guard !judgements.isEmpty else { return [:] }
        let model = DawidSkene.estimate(judgements, units: units, raters: raters.count)
        var weights: [Int: Double] = [:]
        for (user, rater) in raters { weights[user] = max(0.05, model.accuracy[rater]) }
        return weights
    }

    static func weightedMean(_ values: [(Double, Double)]) -> Double {
        let total = values.reduce(0) { $0 + $1.1 }
        guard total > 0 else { return values.isEmpty ? 0 : values.reduce(0) { $0 + $1.0 } / Double(values.count) }
        return values.reduce(0) { $0 + $1.0 * $1.1 } / total
    }

    /// The prompt as chat messages (a text prompt is one user turn).
    static func messages(_ prompt: Prompt) -> [JSONValue] {
        switch prompt {
        case .text(let text): return [["role": "user", "content": .string(text)]]
        case .messages: return prompt.json.arrayValue ?? []
        }
    }

    static func line(_ object: JSONObject) -> [UInt8] {
        var bytes = JSONValue.object(object).serialized()
        bytes.append(0x0A)
        return bytes
    }
}
