import Arbiter
import Glibc

// Usage: AuditBenchmark [PAIRS] [SEEDS_PER_SHARE] [FIRST_SEED]
// Plants 1–5% poison (half prompt triggers, half content targets) in a clean
// seeded set and reports, per share, precision (= recall) of the planted pairs
// among the k most suspicious (k = how many were planted) and recall among the
// top 2k — for `arbiter audit` and for ranking by the out-of-fold reward model
// alone (what confident-learning tools such as cleanlab's self-confidence
// ranking compute from the same out-of-fold probabilities).
let arguments = CommandLine.arguments
let pairCount = arguments.count > 1 ? Int(arguments[1]) ?? 3000 : 3000
let seedsPerShare = arguments.count > 2 ? Int(arguments[2]) ?? 3 : 3
var clock = timespec()
clock_gettime(CLOCK_REALTIME, &clock)
let clockSeed = UInt64(clock.tv_sec) &* 1_000_003 &+ UInt64(clock.tv_nsec)
var seed = arguments.count > 3 ? UInt64(arguments[3]) ?? clockSeed : clockSeed
print("\(pairCount) pairs, \(seedsPerShare) datasets per share, seeds from \(seed)")

func fixed(_ value: Double) -> String { "\((value * 1000).rounded() / 1000)" }
func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

print("| planted | audit precision@k | audit recall@2k | trigger@k | content@k | model-only precision@k | model-only recall@2k | seconds |")
print("|---|---|---|---|---|---|---|---|")
for share in [0.01, 0.02, 0.03, 0.05] {
    var audit = (k: 0.0, twoK: 0.0, trigger: 0.0, content: 0.0)
    var baseline = (k: 0.0, twoK: 0.0)
    var seconds = 0.0
    for _ in 0..<seedsPerShare {
        seed &+= 1
        let dataset = PlantedPoison(pairs: pairCount, poisonShare: share, seed: seed)
        let pairs = dataset.lines.enumerated().map { try! DatasetAudit.pair($1, line: $0 + 1) }
        let start = now()
        let report = DatasetAudit.run(pairs)
        seconds += now() - start
        let score = dataset.score(report)
        audit.k += score.atK
        audit.twoK += score.atTwoK
        audit.trigger += score.trigger
        audit.content += score.content
        // The same out-of-fold probabilities, ranked by P(chosen) alone.
        var byModel = report
        byModel.pairs.sort { ($0.chosenProbability, $0.line) < ($1.chosenProbability, $1.line) }
        let plain = dataset.score(byModel)
        baseline.k += plain.atK
        baseline.twoK += plain.atTwoK
    }
    let n = Double(seedsPerShare)
    print(
        "| \(Int(share * 100))% | \(fixed(audit.k / n)) | \(fixed(audit.twoK / n)) | \(fixed(audit.trigger / n)) | \(fixed(audit.content / n)) | "
            + "\(fixed(baseline.k / n)) | \(fixed(baseline.twoK / n)) | \(fixed(seconds / n)) |")
}
