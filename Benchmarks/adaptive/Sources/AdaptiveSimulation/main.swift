// Overlap and selection policies on simulated raters with a known truth (issue 10).
//
// The world: pairs of synthetic responses drawn from a 3,000-word Zipfian
// vocabulary in which 300 words carry a hidden quality; the truth is the response
// of higher quality, and the 20% of pairs whose qualities are closest are *hard*.
// Raters: 70% reliable (85–95% right on easy pairs), 20% mediocre (65–75%), 10%
// near random (50–55%); on hard pairs everyone is pulled 60% of the way to a coin.
//
// The collection loop is the server's: raters arrive at random and ask for work;
// a pair that still wants judgements and is already started comes first (most
// judged first, as `Assignments.next` orders them), then a fresh pair (by id, or
// with active selection least-certain first with a random share). Whether a pair
// wants more is Arbiter's own `OverlapRule`, with rater accuracies re-estimated by
// Arbiter's `RaterAccuracy` every 250 judgements, as the server does. Labels are
// aggregated by Dawid–Skene (the export's default). The reward model is Arbiter's
// Bradley–Terry trainer, scored on 5,000 held-out pairs against the truth.
//
//   AdaptiveSimulation [PAIRS] [SEED] [OUT_DIR]   (all policies; writes labels.svg, reward.svg)
//   AdaptiveSimulation PAIRS SEED - P             (only fixed 3 against posterior ≥ P, to confirm
//                                                  a threshold chosen on another seed)
import Agreement
import Glibc
import RewardModel

let arguments = CommandLine.arguments
let pairCount = arguments.count > 1 ? Int(arguments[1]) ?? 20_000 : 20_000
let seed = arguments.count > 2 ? UInt64(arguments[2]) ?? 1 : 1
let outputDirectory = arguments.count > 3 ? arguments[3] : "."
let confirmThreshold = arguments.count > 4 ? Double(arguments[4]) : nil
let raterCount = 60
let heldOutCount = 5_000
let refreshEvery = 250

// MARK: The world

struct World {
    var reliability: [Double] = []
    var textA: [String] = []
    var textB: [String] = []
    var truth: [Int] = []  // 0: A is better
    var hard: [Bool] = []
    var heldOut = PreferenceSet(hasher: FeatureHasher(bits: 18))

    init(pairs: Int, seed: UInt64) {
        var random = SplitMix64(seed: seed)
        reliability = (0..<raterCount).map { _ in
            let draw = Double.random(in: 0..<1, using: &random)
            return draw < 0.7
                ? Double.random(in: 0.85...0.95, using: &random)
                : draw < 0.9 ? Double.random(in: 0.65...0.75, using: &random) : Double.random(in: 0.50...0.55, using: &random)
        }
        let vocabulary = (0..<3000).map { "w\($0)" }
        var cumulative: [Double] = []
        var total = 0.0
        for rank in 0..<vocabulary.count {
            total += 1 / pow(Double(rank + 1), 1.1)
            cumulative.append(total)
        }
        var quality = [Double](repeating: 0, count: vocabulary.count)
        for index in Array(0..<1500).shuffled(using: &random).prefix(300) {
            // Box–Muller: a standard normal weight.
            let u = Double.random(in: Double.ulpOfOne..<1, using: &random), v = Double.random(in: 0..<1, using: &random)
            quality[index] = sqrt(-2 * log(u)) * cos(2 * .pi * v)
        }
        func response() -> (String, Double) {
            var words: [String] = []
            var score = 0.0
            for _ in 0..<Int.random(in: 15...60, using: &random) {
                let target = Double.random(in: 0..<total, using: &random)
                var low = 0, high = cumulative.count - 1
                while low < high {
                    let middle = (low + high) / 2
                    if cumulative[middle] < target { low = middle + 1 } else { high = middle }
                }
                words.append(vocabulary[low])
                score += quality[low]
            }
            return (words.joined(separator: " "), score)
        }
        var gaps: [Double] = []
        for _ in 0..<pairs {
            let (a, qa) = response(), (b, qb) = response()
            textA.append(a)
            textB.append(b)
            truth.append(qa >= qb ? 0 : 1)
            gaps.append(abs(qa - qb))
        }
        let hardBelow = gaps.sorted()[pairs / 5]
        hard = gaps.map { $0 < hardBelow }
        for _ in 0..<heldOutCount {
            let (a, qa) = response(), (b, qb) = response()
            heldOut.append(chosen: qa >= qb ? a : b, rejected: qa >= qb ? b : a)
        }
    }

    func judge(_ rater: Int, _ pair: Int, using random: inout SplitMix64) -> Int {
        let r = reliability[rater]
        let p = hard[pair] ? r - (r - 0.5) * 0.6 : r
        return Double.random(in: 0..<1, using: &random) < p ? truth[pair] : 1 - truth[pair]
    }
}

// MARK: Collection, as the server does it

struct Selection {
    var randomShare: Double
    var retrainEvery: Int
}

struct Judgement {
    var pair: Int
    var rater: Int
    var label: Int
}

struct Collection {
    var judgements: [Judgement] = []
    /// Reward-model held-out accuracy at each checkpoint (judgements spent).
    var rewardCurve: [(judgements: Int, accuracy: Double)] = []
}

/// Labels from the judgements so far, Dawid–Skene aggregated: pair → 0/1 (nil: none or an even split).
func aggregate(_ judgements: [Judgement], pairs: Int) -> [Int?] {
    guard !judgements.isEmpty else { return Array(repeating: nil, count: pairs) }
    let model = DawidSkene.estimate(judgements.map { ($0.pair, $0.rater, $0.label) }, units: pairs, raters: raterCount, categories: 2)
    var seen = [Bool](repeating: false, count: pairs)
    for judgement in judgements { seen[judgement.pair] = true }
    return (0..<pairs).map { pair in
        guard seen[pair] else { return nil }
        let posterior = model.posteriors[pair]
        return posterior[0] == posterior[1] ? nil : (posterior[0] > posterior[1] ? 0 : 1)
    }
}

/// A reward model trained on the labelled pairs: its P(A better) for `score` pairs and its held-out accuracy.
func trainRewardModel(_ world: World, labels: [Int?], score: [Int] = []) -> (probabilities: [Float], heldOutAccuracy: Double) {
    var data = PreferenceSet(hasher: world.heldOut.table.hasher)
    for (pair, label) in labels.enumerated() {
        guard let label else { continue }
        data.append(
            chosen: label == 0 ? world.textA[pair] : world.textB[pair], rejected: label == 0 ? world.textB[pair] : world.textA[pair])
    }
    guard data.count >= 20 else { return (score.map { _ in 0.5 }, 0.5) }
    var options = TrainingOptions()
    options.seed = seed
    let model = BradleyTerryTrainer.train(data, options: options).model
    let heldOut = BradleyTerryTrainer.evaluate(model, world.heldOut, comparisons: Array(0..<world.heldOut.count)).accuracy
    var candidates = PreferenceSet(hasher: world.heldOut.table.hasher)
    for pair in score { candidates.append(chosen: world.textA[pair], rejected: world.textB[pair]) }
    let probabilities = score.isEmpty ? [] : BradleyTerryTrainer.probabilities(model, candidates, comparisons: Array(0..<score.count))
    return (probabilities, heldOut)
}

func collect(_ world: World, rule: OverlapRule, selection: Selection? = nil, checkpoints: [Int] = []) -> Collection {
    let pairs = world.truth.count
    var random = SplitMix64(seed: seed &+ 1000)
    var collection = Collection()
    var votes = [[OverlapRule.Vote]](repeating: [], count: pairs)
    var raters = [[Int]](repeating: [], count: pairs)
    var contested: [Int] = []  // started, still wanting judgements
    var accuracy = [Double](repeating: OverlapRule.priorAccuracy, count: raterCount)
    // Fresh pairs in serving order; `taken` marks those already started.
    var fresh = Array(0..<pairs)
    var cursor = 0
    var taken = [Bool](repeating: false, count: pairs)
    var remainingFresh = pairs
    var nextCheckpoint = 0

    func takeFresh(randomly: Bool) -> Int? {
        guard remainingFresh > 0 else { return nil }
        while cursor < fresh.count && taken[fresh[cursor]] { cursor += 1 }
        var pick = fresh[cursor]
        if randomly {
            repeat { pick = fresh[Int.random(in: cursor..<fresh.count, using: &random)] } while taken[pick]
        }
        taken[pick] = true
        remainingFresh -= 1
        return pick
    }

    while remainingFresh > 0 || !contested.isEmpty {
        let rater = Int.random(in: 0..<raterCount, using: &random)
        // Started pairs first, most judged first, then by id.
        var best: Int?
        for pair in contested where !raters[pair].contains(rater) {
            if let current = best, (votes[current].count, -current) >= (votes[pair].count, -pair) { continue }
            best = pair
        }
        let pair: Int
        if let best {
            pair = best
        } else if let next = takeFresh(randomly: selection.map { Double.random(in: 0..<1, using: &random) < $0.randomShare } ?? false) {
            pair = next
            contested.append(pair)
        } else {
            continue  // only pairs this rater has judged are left; someone else will come
        }
        let label = world.judge(rater, pair, using: &random)
        votes[pair].append(OverlapRule.Vote(choice: label, accuracy: accuracy[rater]))
        raters[pair].append(rater)
        collection.judgements.append(Judgement(pair: pair, rater: rater, label: label))
        if rule.isSettled(votes[pair]) { contested.removeAll { $0 == pair } }

        let spent = collection.judgements.count
        if rule.posterior != nil && spent % refreshEvery == 0 {
            let estimated = RaterAccuracy.estimate(
                collection.judgements.map { ($0.pair, $0.rater, $0.label) }, units: pairs, raters: raterCount)
            accuracy = estimated.map(\.accuracy)
            for pair in contested {
                for index in votes[pair].indices { votes[pair][index].accuracy = accuracy[raters[pair][index]] }
            }
            contested.removeAll { rule.isSettled(votes[$0]) }
        }
        if let selection, spent % selection.retrainEvery == 0, remainingFresh > 0 {
            let left = fresh[cursor...].filter { !taken[$0] }
            let scored = trainRewardModel(world, labels: aggregate(collection.judgements, pairs: pairs), score: left)
            let priority = scored.probabilities.map { abs($0 - 0.5) }
            // As the server queues them: the least certain max(5,000, 10 × N) first, the rest by id.
            let queued = zip(left, priority).sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(max(5_000, 10 * selection.retrainEvery)).map(\.0)
            let inQueue = Set(queued)
            fresh = queued + left.filter { !inQueue.contains($0) }
            cursor = 0
        }
        if nextCheckpoint < checkpoints.count && spent == checkpoints[nextCheckpoint] {
            let accuracy = trainRewardModel(world, labels: aggregate(collection.judgements, pairs: pairs)).heldOutAccuracy
            collection.rewardCurve.append((spent, accuracy))
            nextCheckpoint += 1
        }
    }
    return collection
}

/// Share of pairs whose aggregated label is the truth (an even split counts half).
func labelAccuracy(_ world: World, _ collection: Collection) -> Double {
    let labels = aggregate(collection.judgements, pairs: world.truth.count)
    var right = 0.0
    for (pair, label) in labels.enumerated() { right += label.map { $0 == world.truth[pair] ? 1 : 0 } ?? 0.5 }
    return right / Double(world.truth.count)
}

// MARK: Runs

let world = World(pairs: pairCount, seed: seed)
/// `value` with `places` decimals (no Foundation here).
func fixed(_ value: Double, _ places: Int) -> String {
    let scale = pow(10, Double(places))
    let scaled = Int((abs(value) * scale).rounded())
    let whole = scaled / Int(scale), fraction = scaled % Int(scale)
    let digits = places == 0 ? "" : "." + String(String(fraction).reversed()).padding(places).reversed()
    return (value < 0 && scaled != 0 ? "-" : "") + String(whole) + digits
}
extension String {
    func padding(_ count: Int) -> String { self + String(repeating: "0", count: max(0, count - self.count)) }
}
func percent(_ value: Double) -> String { fixed(value * 100, 1) + "%" }
func line(_ name: String, _ collection: Collection, _ accuracy: Double) {
    let perPair = Double(collection.judgements.count) / Double(pairCount)
    print("\(name): \(collection.judgements.count) judgements (\(fixed(perPair, 2)) per pair), labels \(percent(accuracy)) right")
}
print("\(pairCount) pairs, \(raterCount) raters, seed \(seed)")
let thresholds = [0.8, 0.85, 0.86, 0.87, 0.88, 0.9, 0.93, 0.95]

/// The weighted-posterior policy at each threshold: (threshold, judgements, accuracy).
func posteriorSweep() -> [(threshold: Double, judgements: Int, accuracy: Double)] {
    thresholds.map { threshold in
        let collection = collect(world, rule: OverlapRule(minimum: 1, maximum: 5, posterior: threshold))
        let accuracy = labelAccuracy(world, collection)
        line("adaptive 1–5, stop at posterior ≥ \(threshold)", collection, accuracy)
        return (threshold, collection.judgements.count, accuracy)
    }
}

/// Judgements at which the sweep's accuracy first reaches `target`, linearly
/// interpolated between the two thresholds around it.
func judgementsToReach(_ target: Double, _ sweep: [(threshold: Double, judgements: Int, accuracy: Double)]) -> Double? {
    let points = sweep.sorted { $0.judgements < $1.judgements }
    for (low, high) in zip(points, points.dropFirst()) where low.accuracy < target && high.accuracy >= target {
        return Double(low.judgements) + (target - low.accuracy) / (high.accuracy - low.accuracy) * Double(high.judgements - low.judgements)
    }
    return points.first.flatMap { $0.accuracy >= target ? Double($0.judgements) : nil }
}

/// Prints the two headline comparisons with fixed overlap 3.
func report(
    _ sweep: [(threshold: Double, judgements: Int, accuracy: Double)], fixedThree: (judgements: Int, accuracy: Double), chosen: Double?
) {
    if let needed = judgementsToReach(fixedThree.accuracy, sweep) {
        print(
            "equal accuracy: the posterior rule reaches fixed overlap 3's \(percent(fixedThree.accuracy)) at ≈ \(Int(needed.rounded())) judgements "
                + "instead of \(fixedThree.judgements): \(percent(1 - needed / Double(fixedThree.judgements))) fewer (interpolated between thresholds)"
        )
    }
    let threshold = chosen ?? sweep.filter { $0.accuracy >= fixedThree.accuracy }.min { $0.judgements < $1.judgements }?.threshold
    if let threshold, let run = sweep.first(where: { $0.threshold == threshold }) {
        print(
            "result: posterior ≥ \(threshold) \(chosen == nil ? "(the cheapest threshold at least as accurate)" : "(chosen on seed 1)"): "
                + "\(run.judgements) judgements, \(percent(1 - Double(run.judgements) / Double(fixedThree.judgements))) fewer, "
                + "labels \(percent(run.accuracy)) (\(run.accuracy >= fixedThree.accuracy ? "+" : "")\(fixed((run.accuracy - fixedThree.accuracy) * 100, 1)) points)"
        )
    }
}

if let threshold = confirmThreshold {
    let fixedRun = collect(world, rule: .fixed(3))
    let fixedThree = (judgements: fixedRun.judgements.count, accuracy: labelAccuracy(world, fixedRun))
    line("fixed overlap 3", fixedRun, fixedThree.accuracy)
    report(posteriorSweep(), fixedThree: fixedThree, chosen: threshold)
    exit(0)
}

var fixedPoints: [(x: Double, y: Double)] = []
var fixedThree = (judgements: 0, accuracy: 0.0)
for overlap in 1...5 {
    let collection = collect(world, rule: .fixed(overlap))
    let accuracy = labelAccuracy(world, collection)
    line("fixed overlap \(overlap)", collection, accuracy)
    fixedPoints.append((Double(collection.judgements.count) / Double(pairCount), accuracy))
    if overlap == 3 { fixedThree = (collection.judgements.count, accuracy) }
}
var leadPoints: [(x: Double, y: Double)] = []
for (minimum, lead, maximum) in [(1, 1, 5), (2, 2, 3), (2, 2, 5), (2, 3, 7)] {
    let collection = collect(world, rule: OverlapRule(minimum: minimum, maximum: maximum, lead: lead))
    let accuracy = labelAccuracy(world, collection)
    line("adaptive \(minimum)–\(maximum), stop at a lead of \(lead)", collection, accuracy)
    leadPoints.append((Double(collection.judgements.count) / Double(pairCount), accuracy))
}
let sweep = posteriorSweep()
let posteriorPoints = sweep.map { (x: Double($0.judgements) / Double(pairCount), y: $0.accuracy) }
report(sweep, fixedThree: fixedThree, chosen: nil)
let matches = sweep.filter { $0.accuracy >= fixedThree.accuracy }

// Reward model held-out accuracy against judgements spent.
let budget = pairCount * 3
let checkpoints = stride(from: budget / 10, through: budget, by: budget / 10).map { $0 }
let adaptiveRule = OverlapRule(minimum: 1, maximum: 5, posterior: matches.min(by: { $0.judgements < $1.judgements })?.threshold ?? 0.9)
let rewardRuns: [(String, Collection)] = [
    ("fixed overlap 3", collect(world, rule: .fixed(3), checkpoints: checkpoints)),
    ("fixed overlap 1", collect(world, rule: .fixed(1), checkpoints: checkpoints)),
    ("adaptive (posterior ≥ \(adaptiveRule.posterior!))", collect(world, rule: adaptiveRule, checkpoints: checkpoints)),
    (
        "adaptive + active selection (20% random)",
        collect(
            world, rule: adaptiveRule, selection: Selection(randomShare: 0.2, retrainEvery: max(500, pairCount / 20)),
            checkpoints: checkpoints)
    ),
]
for (name, collection) in rewardRuns {
    print("reward model, \(name): " + collection.rewardCurve.map { "\($0.judgements) → \(percent($0.accuracy))" }.joined(separator: ", "))
}

// MARK: SVG

struct Series {
    var name: String
    var color: String
    var points: [(x: Double, y: Double)]
    var dashed = false
}

func chart(title: String, xLabel: String, yLabel: String, series: [Series], reference: (label: String, y: Double)? = nil) -> String {
    let width = 640.0, height = 400.0, left = 64.0, right = 16.0, top = 36.0, bottom = 52.0
    let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) } + (reference.map { [$0.y] } ?? [])
    let xMin = 0.0, xMax = (xs.max() ?? 1) * 1.05
    let yMin = floor(((ys.min() ?? 0) - 0.01) * 50) / 50, yMax = ceil(((ys.max() ?? 1) + 0.01) * 50) / 50
    func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * (width - left - right) }
    func py(_ y: Double) -> Double { top + (1 - (y - yMin) / (yMax - yMin)) * (height - top - bottom) }
    func f(_ v: Double) -> String { fixed(v, 1) }
    var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="DejaVu Sans, sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(width / 2))" y="20" text-anchor="middle" font-size="14">\(title)</text>

        """
    let yStep = (yMax - yMin) > 0.2 ? 0.05 : 0.02
    var y = yMin
    while y <= yMax + 1e-9 {
        svg += "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(py(y)))\" y2=\"\(f(py(y)))\" stroke=\"#e5e5e5\"/>"
        svg += "<text x=\"\(f(left - 6))\" y=\"\(f(py(y) + 4))\" text-anchor=\"end\">\(Int((y * 100).rounded()))%</text>\n"
        y += yStep
    }
    let xStep = xMax > 20 ? 10.0 : xMax > 8 ? 2 : xMax > 3 ? 1 : 0.5
    var x = xMin
    while x <= xMax + 1e-9 {
        svg += "<line x1=\"\(f(px(x)))\" x2=\"\(f(px(x)))\" y1=\"\(f(top))\" y2=\"\(f(height - bottom))\" stroke=\"#f0f0f0\"/>"
        svg +=
            "<text x=\"\(f(px(x)))\" y=\"\(f(height - bottom + 16))\" text-anchor=\"middle\">\(x == x.rounded() ? String(Int(x)) : String(x))</text>\n"
        x += xStep
    }
    svg += "<text x=\"\(f((left + width - right) / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(xLabel)</text>\n"
    svg += "<text transform=\"translate(16 \(f((top + height - bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(yLabel)</text>\n"
    if let reference {
        svg +=
            "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(py(reference.y)))\" y2=\"\(f(py(reference.y)))\" stroke=\"#888\" stroke-dasharray=\"2 3\"/>"
        svg +=
            "<text x=\"\(f(width - right - 4))\" y=\"\(f(py(reference.y) - 4))\" text-anchor=\"end\" fill=\"#555\">\(reference.label)</text>\n"
    }
    for (index, item) in series.enumerated() {
        let path = item.points.sorted { $0.x < $1.x }.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
        svg +=
            "<polyline fill=\"none\" stroke=\"\(item.color)\" stroke-width=\"2\"\(item.dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(path)\"/>\n"
        for point in item.points { svg += "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"3\" fill=\"\(item.color)\"/>" }
        let legendY = height - bottom - 12 - Double(series.count - 1 - index) * 16
        svg +=
            "\n<line x1=\"\(f(width - right - 290))\" x2=\"\(f(width - right - 270))\" y1=\"\(f(legendY - 4))\" y2=\"\(f(legendY - 4))\" stroke=\"\(item.color)\" stroke-width=\"2\"/>"
        svg += "<text x=\"\(f(width - right - 264))\" y=\"\(f(legendY))\">\(item.name)</text>\n"
    }
    return svg + "</svg>\n"
}

func write(_ text: String, to name: String) {
    let path = outputDirectory + "/" + name
    guard let file = fopen(path, "w") else { fatalError("cannot write \(path)") }
    fputs(text, file)
    fclose(file)
    print("wrote \(path)")
}

write(
    chart(
        title: "Aggregated-label accuracy against judgements spent (\(pairCount) pairs, seed \(seed))",
        xLabel: "judgements per pair", yLabel: "labels right (Dawid–Skene)",
        series: [
            Series(name: "fixed overlap 1–5", color: "#555", points: fixedPoints),
            Series(name: "adaptive: stop at a lead of k", color: "#1f77b4", points: leadPoints, dashed: true),
            Series(name: "adaptive 1–5: weighted posterior ≥ p", color: "#d62728", points: posteriorPoints),
        ],
        reference: ("fixed overlap 3", fixedThree.accuracy)), to: "labels.svg")
write(
    chart(
        title: "Reward model held-out accuracy against judgements spent",
        xLabel: "judgements (thousands)", yLabel: "held-out accuracy",
        series: zip(rewardRuns, ["#555", "#aaa", "#d62728", "#2ca02c"]).map { run, color in
            Series(name: run.0, color: color, points: run.1.rewardCurve.map { (Double($0.judgements) / 1000, $0.accuracy) })
        }), to: "reward.svg")
