import Glibc

/// The Plackett–Luce model of a ranking: the best is drawn with probability
/// exp(s_i) / Σ exp(s_j) over all, the next over the rest, and so on. Tied
/// responses (a group) use Breslow's approximation: each member of a group is drawn
/// against everything not ranked above the group, itself and its group included.
///
///     log L = Σ_groups [ Σ_{i∈g} s_i − |g| · log Σ_{j ∈ g ∪ later} exp(s_j) ]
///
/// Without ties this is the exact Plackett–Luce log-likelihood (the tests compare
/// it with `choix.log_likelihood_rankings`).
public enum PlackettLuce {
    /// log P(ranking | scores); `groups` are indices into `scores`, best first.
    public static func logLikelihood(scores: [Double], groups: [[Int]]) -> Double {
        var total = 0.0
        var remaining = groups.flatMap { $0 }
        for group in groups {
            let z = logSumExp(remaining.map { scores[$0] })
            for item in group { total += scores[item] - z }
            remaining.removeFirst(group.count)
        }
        return total
    }

    /// d(−log L)/d s_i for every item of `scores` (0 for items not ranked).
    public static func gradient(scores: [Double], groups: [[Int]]) -> [Double] {
        var gradient = [Double](repeating: 0, count: scores.count)
        var remaining = groups.flatMap { $0 }
        for group in groups {
            let z = logSumExp(remaining.map { scores[$0] })
            let size = Double(group.count)
            for j in remaining { gradient[j] += size * Glibc.exp(scores[j] - z) }
            for i in group { gradient[i] -= 1 }
            remaining.removeFirst(group.count)
        }
        return gradient
    }

    static func logSumExp(_ values: [Double]) -> Double {
        guard let top = values.max(), top.isFinite else { return values.max() ?? -.infinity }
        return top + Glibc.log(values.reduce(0) { $0 + Glibc.exp($1 - top) })
    }
}

/// Training data for the listwise reward model: responses as rows of a feature
/// table, rankings over those rows, and rows with a target score.
public struct ListwiseData: Sendable {
    public var table: FeatureTable
    /// Each ranking: groups of rows, best first (tied rows share a group).
    public var lists: [[[Int]]] = []
    /// Rows with a target (a rating), and the task each belongs to.
    public var scored: [(row: Int, target: Double, task: Int)] = []

    public init(hasher: FeatureHasher) { table = FeatureTable(hasher: hasher) }

    /// Adds a response; its row.
    public mutating func add(_ text: String) -> Int {
        table.append(text)
        return table.count - 1
    }
}

/// Trains the linear reward model r(response) on rankings (Plackett–Luce) and on
/// rated responses (squared error to the standardised score) with AdaGrad,
/// sequentially, early-stopped on a seeded validation share, as the pairwise
/// trainer is. (The hidden layer is for pairs only: listwise training is linear.)
public enum ListwiseTrainer {
    public static func train(
        _ data: ListwiseData, lists: [Int], scored: [Int], options: TrainingOptions = TrainingOptions(),
        progress: (EpochReport) -> Void = { _ in }
    ) -> (model: BradleyTerryModel, history: TrainingHistory) {
        var random = SplitMix64(seed: options.seed)
        var listOrder = lists
        var scoredOrder = scored
        listOrder.shuffle(using: &random)
        scoredOrder.shuffle(using: &random)
        let units = listOrder.count + scoredOrder.count
        let validationShare = units >= 20 ? options.validationFraction : 0
        let listValidation = Array(listOrder.prefix(Int(Double(listOrder.count) * validationShare)))
        let scoredValidation = Array(scoredOrder.prefix(Int(Double(scoredOrder.count) * validationShare)))
        var listTraining = Array(listOrder.dropFirst(listValidation.count))
        var scoredTraining = Array(scoredOrder.dropFirst(scoredValidation.count))
        let targets = standardised(data)

        var model = BradleyTerryModel(bits: data.table.hasher.bits)
        var parameters = model.parameters
        var accumulators = [Float](repeating: 1e-8, count: parameters.count)
        var history = TrainingHistory()
        var best = (loss: Double.infinity, parameters: parameters, epoch: 0)
        let dimension = model.dimension
        let rate = options.learningRate
        // Scratch for the hidden layer's activations, which a linear model never touches.
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { scratch.deallocate() }
        data.table.withView { view in
            parameters.withUnsafeMutableBufferPointer { p in
                accumulators.withUnsafeMutableBufferPointer { a in
                    /// Moves the weights of `row` by −rate·g·x (AdaGrad per weight).
                    func step(row: Int, gradient g: Float) {
                        guard g != 0 else { return }
                        let scale = view.scales[row]
                        for index in view.offsets[row]..<view.offsets[row + 1] {
                            let entry = view.packed[index]
                            let bucket = Int(entry >> 8)
                            let d = g * Float(Int8(bitPattern: UInt8(entry & 0xFF))) * scale
                            a[bucket] += d * d
                            p[bucket] -= rate * d / a[bucket].squareRoot()
                        }
                        for (offset, bucket) in [dimension - 2, dimension - 1].enumerated() {
                            let d = g * view.lengths[2 * row + offset]
                            a[bucket] += d * d
                            p[bucket] -= rate * d / a[bucket].squareRoot()
                        }
                    }
                    func score(_ row: Int) -> Double {
                        Double(model.score(view, row: row, parameters: UnsafePointer(p.baseAddress!), activation: scratch))
                    }
                    func loss(lists: [Int], scored: [Int]) -> Double {
                        var total = 0.0
                        for list in lists {
                            let groups = data.lists[list]
                            let rows = groups.flatMap { $0 }
                            var scores = [Double](repeating: 0, count: rows.count)
                            var local: [[Int]] = []
                            var next = 0
                            for group in groups {
                                local.append(Array(next..<(next + group.count)))
                                next += group.count
                            }
                            for (i, row) in rows.enumerated() { scores[i] = score(row) }
                            total -= PlackettLuce.logLikelihood(scores: scores, groups: local)
                        }
                        for item in scored {
                            let d = score(data.scored[item].row) - targets[item]
                            total += 0.5 * d * d
                        }
                        return total / Double(max(1, lists.count + scored.count))
                    }
                    for epoch in 1...max(1, options.epochs) {
                        listTraining.shuffle(using: &random)
                        scoredTraining.shuffle(using: &random)
                        var trainingLoss = 0.0
                        for list in listTraining {
                            let groups = data.lists[list]
                            let rows = groups.flatMap { $0 }
                            var local: [[Int]] = []
                            var next = 0
                            for group in groups {
                                local.append(Array(next..<(next + group.count)))
                                next += group.count
                            }
                            let scores = rows.map(score)
                            trainingLoss -= PlackettLuce.logLikelihood(scores: scores, groups: local)
                            for (i, g) in PlackettLuce.gradient(scores: scores, groups: local).enumerated() {
                                step(row: rows[i], gradient: Float(g))
                            }
                        }
                        for item in scoredTraining {
                            let row = data.scored[item].row
                            let d = score(row) - targets[item]
                            trainingLoss += 0.5 * d * d
                            step(row: row, gradient: Float(d))
                        }
                        // The proximal L2 step, as the pairwise trainer takes it.
                        let shrink = 1 / (1 + rate * options.l2 * Float(listTraining.count + scoredTraining.count))
                        for index in 0..<p.count { p[index] *= shrink }
                        let validationLoss = loss(lists: listValidation, scored: scoredValidation)
                        model.parameters = Array(p)
                        let accuracy = listValidation.isEmpty ? 0 : impliedPairAccuracy(model, data, lists: listValidation).accuracy
                        let report = EpochReport(
                            epoch: epoch, loss: trainingLoss / Double(max(1, listTraining.count + scoredTraining.count)),
                            validationLoss: validationLoss, validationAccuracy: accuracy)
                        history.epochs.append(report)
                        progress(report)
                        if listValidation.isEmpty && scoredValidation.isEmpty || validationLoss < best.loss - options.minImprovement {
                            best = (validationLoss, Array(p), epoch)
                        } else if epoch - best.epoch >= options.patience {
                            break
                        }
                    }
                }
            }
        }
        model.parameters = best.parameters
        history.bestEpoch = best.epoch
        return (model, history)
    }

    /// Each scored row's target, standardised over all of them (mean 0, sd 1): the
    /// linear model has no intercept, and the scale of a rating is arbitrary.
    static func standardised(_ data: ListwiseData) -> [Double] {
        let values = data.scored.map(\.target)
        guard !values.isEmpty else { return [] }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        let sd = variance > 0 ? variance.squareRoot() : 1
        return values.map { ($0 - mean) / sd }
    }

    /// The model's reward of each row.
    public static func scores(_ model: BradleyTerryModel, _ data: ListwiseData, rows: [Int]) -> [Double] {
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, model.hidden))
        defer { scratch.deallocate() }
        return data.table.withView { view in
            model.parameters.withUnsafeBufferPointer { p in
                rows.map { Double(model.score(view, row: $0, parameters: p.baseAddress!, activation: scratch)) }
            }
        }
    }

    /// Held-out accuracy on the implied pairs of `lists` (responses in different
    /// groups; the model right when it scores the better one higher, ties half).
    public static func impliedPairAccuracy(_ model: BradleyTerryModel, _ data: ListwiseData, lists: [Int]) -> (accuracy: Double, pairs: Int)
    {
        var right = 0.0
        var pairs = 0
        for list in lists {
            let groups = data.lists[list]
            let scores = Self.scores(model, data, rows: groups.flatMap { $0 })
            var offsets: [Int] = []
            var next = 0
            for group in groups {
                offsets.append(next)
                next += group.count
            }
            for g in groups.indices {
                for h in groups.indices where h > g {
                    for i in 0..<groups[g].count {
                        for j in 0..<groups[h].count {
                            let better = scores[offsets[g] + i]
                            let worse = scores[offsets[h] + j]
                            right += better > worse ? 1 : better == worse ? 0.5 : 0
                            pairs += 1
                        }
                    }
                }
            }
        }
        return (pairs == 0 ? 0 : right / Double(pairs), pairs)
    }

    /// Spearman's rank correlation between the model's rewards of `scored` rows and
    /// their targets (average ranks for ties), over all of them; nil below 3 rows
    /// or with no variation.
    public static func spearman(_ model: BradleyTerryModel, _ data: ListwiseData, scored: [Int]) -> Double? {
        guard scored.count >= 3 else { return nil }
        let predicted = scores(model, data, rows: scored.map { data.scored[$0].row })
        return spearman(predicted, scored.map { data.scored[$0].target })
    }

    /// Spearman's ρ of two samples: Pearson's r of their average ranks.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double? {
        let (rx, ry) = (averageRanks(x), averageRanks(y))
        let n = Double(x.count)
        let (mx, my) = (rx.reduce(0, +) / n, ry.reduce(0, +) / n)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(rx, ry) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
            syy += (b - my) * (b - my)
        }
        return sxx > 0 && syy > 0 ? sxy / (sxx * syy).squareRoot() : nil
    }

    static func averageRanks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
            for position in start...end { ranks[order[position]] = Double(start + end) / 2 + 1 }
            start = end + 1
        }
        return ranks
    }
}
