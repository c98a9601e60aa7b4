// Overlap policies on simulated raters with a known truth (first step of issue 10):
// judgements spent per pair against the accuracy of the aggregated labels.
// Raters: 70% reliable (85–95% right), 20% mediocre (65–75%), 10% near random
// (50–55%); pairs vary in difficulty. Seeded; prints one line per policy.
//   AdaptiveSimulation [PAIRS] [SEED]
import Agreement
import Glibc

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let arguments = CommandLine.arguments
let pairs = arguments.count > 1 ? Int(arguments[1]) ?? 5000 : 5000
var random = SplitMix64(state: arguments.count > 2 ? UInt64(arguments[2]) ?? 1 : 1)
let raterCount = 60
let reliability: [Double] = (0..<raterCount).map { _ in
    let draw = Double.random(in: 0..<1, using: &random)
    return draw < 0.7 ? Double.random(in: 0.85...0.95, using: &random)
        : draw < 0.9 ? Double.random(in: 0.65...0.75, using: &random) : Double.random(in: 0.50...0.55, using: &random)
}
let truth = (0..<pairs).map { _ in Int.random(in: 0...1, using: &random) }
// Hard pairs pull everyone toward a coin flip.
let difficulty = (0..<pairs).map { _ in Double.random(in: 0..<1, using: &random) < 0.2 ? 0.6 : 0.0 }

/// One rater's judgement of one pair (0 = A, 1 = B).
@MainActor func judge(_ rater: Int, _ pair: Int) -> Int {
    let p = reliability[rater] - (reliability[rater] - 0.5) * difficulty[pair]
    return Double.random(in: 0..<1, using: &random) < p ? truth[pair] : 1 - truth[pair]
}

struct Outcome {
    var judgements: [(unit: Int, rater: Int, label: Int)] = []
}

/// Draws raters for each pair (no rater twice on a pair) until `stop` says so.
@MainActor func run(_ stop: ([Int]) -> Bool, maximum: Int) -> Outcome {
    run({ labels, _ in stop(labels) }, maximum: maximum)
}

/// As `run`, with the raters so far passed to `stop`.
@MainActor func run(_ stop: ([Int], [Int]) -> Bool, maximum: Int) -> Outcome {
    var outcome = Outcome()
    for pair in 0..<pairs {
        var raters = Array(0..<raterCount)
        raters.shuffle(using: &random)
        var labels: [Int] = []
        var who: [Int] = []
        for rater in raters.prefix(maximum) {
            let label = judge(rater, pair)
            labels.append(label)
            who.append(rater)
            outcome.judgements.append((pair, rater, label))
            if stop(labels, who) { break }
        }
    }
    return outcome
}

/// Majority and Dawid–Skene label accuracy against the truth.
@MainActor func score(_ name: String, _ outcome: Outcome) {
    var votes = Array(repeating: [0, 0], count: pairs)
    for judgement in outcome.judgements { votes[judgement.unit][judgement.label] += 1 }
    var majority = 0.0
    for pair in 0..<pairs {
        let (a, b) = (votes[pair][0], votes[pair][1])
        majority += a == b ? 0.5 : ((a > b ? 0 : 1) == truth[pair] ? 1 : 0)
    }
    let model = DawidSkene.estimate(outcome.judgements.map { ($0.unit, $0.rater, $0.label) }, units: pairs, raters: raterCount, categories: 2)
    var weighted = 0.0
    for pair in 0..<pairs {
        let posterior = model.posteriors[pair]
        weighted += posterior[0] == posterior[1] ? 0.5 : ((posterior[0] > posterior[1] ? 0 : 1) == truth[pair] ? 1 : 0)
    }
    let perPair = Double(outcome.judgements.count) / Double(pairs)
    print("\(name): \(outcome.judgements.count) judgements (\((perPair * 100).rounded() / 100) per pair), "
          + "majority \((majority / Double(pairs) * 1000).rounded() / 10)%, Dawid–Skene \((weighted / Double(pairs) * 1000).rounded() / 10)%")
}

let lead = { (labels: [Int]) -> Int in abs(labels.filter { $0 == 0 }.count - labels.filter { $0 == 1 }.count) }
score("fixed overlap 3", run({ $0.count >= 3 }, maximum: 3))
score("fixed overlap 5", run({ $0.count >= 5 }, maximum: 5))
score("adaptive: stop at a lead of 2, at most 5", run({ $0.count >= 2 && lead($0) >= 2 }, maximum: 5))
score("adaptive: stop at a lead of 2, at most 7", run({ $0.count >= 2 && lead($0) >= 2 }, maximum: 7))
score("adaptive: first 2 agree, else a third", run({ $0.count >= 3 || ($0.count == 2 && $0[0] == $0[1]) }, maximum: 3))

// Weighted posterior: each rater's accuracy estimated by Dawid–Skene on a pilot of
// 500 pairs at overlap 3 (as a project would learn it from its first judgements),
// then each pair stops once the leading answer's posterior passes p (at least 2, at most 5).
let pilot = run({ $0.count >= 3 }, maximum: 3)
let pilotModel = DawidSkene.estimate(Array(pilot.judgements.prefix(1500)).map { ($0.unit, $0.rater, $0.label) }, units: pairs, raters: raterCount, categories: 2)
let estimated = (0..<raterCount).map { rater -> Double in
    min(0.99, max(0.5, pilotModel.accuracy[rater]))
}
for threshold in [0.9, 0.95, 0.98] {
    score("adaptive: posterior ≥ \(threshold), 2–5", run({ labels, raters in
        guard labels.count >= 2 else { return false }
        var logOdds = 0.0
        for (label, rater) in zip(labels, raters) {
            let weight = log(estimated[rater] / (1 - estimated[rater]))
            logOdds += label == 0 ? weight : -weight
        }
        return 1 / (1 + exp(-abs(logOdds))) >= threshold
    }, maximum: 5))
}
