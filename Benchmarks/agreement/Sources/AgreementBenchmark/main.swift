// Usage: AgreementBenchmark [PAIRS] [JUDGES_PER_PAIR] [RATERS]
import Agreement
import Dispatch
import Glibc

let arguments = CommandLine.arguments
let pairs = arguments.count > 1 ? Int(arguments[1]) ?? 100_000 : 100_000
let perPair = arguments.count > 2 ? Int(arguments[2]) ?? 10 : 10
let raterCount = arguments.count > 3 ? Int(arguments[3]) ?? 1000 : 1000

var state: UInt64 = 12345
func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
func int(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

func seconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

var units: [UnitFacts] = []
var rated: [RatedJudgement] = []
var plain: [Judgement] = []
rated.reserveCapacity(pairs * perPair)
plain.reserveCapacity(pairs * perPair)
let noise = (0..<raterCount).map { _ in 5 + int(25) }
for unit in 0..<pairs {
    let truth = int(2)
    var tokens = Set<Int>()
    for _ in 0..<8 { tokens.insert(int(5000)) }
    units.append(UnitFacts(lengthA: 100 + int(1900), lengthB: 100 + int(1900), tokens: tokens.sorted()))
    var judges = Set<Int>()
    while judges.count < perPair { judges.insert(int(raterCount)) }
    for rater in judges.sorted() {
        let category = int(100) < noise[rater] ? int(4) : truth
        let strength = 1 + int(3)
        rated.append(
            RatedJudgement(unit: unit, rater: rater, category: category, shownSwapped: int(2) == 0, durationMilliseconds: 5000 + int(30000))
        )
        plain.append(
            Judgement(
                unit: unit, rater: rater, category: category,
                signed: category == 0 ? -strength : category == 1 ? strength : category == 2 ? 0 : nil))
    }
}
print("\(plain.count) judgements, \(pairs) pairs, \(raterCount) raters")
let start = seconds()
let report = AgreementReport.compute(plain, bootstrap: 1000)
let afterAgreement = seconds()
let assessments = RaterQuality.assess(rated, units: units, raters: raterCount)
let end = seconds()
var usage = rusage()
getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
func f(_ x: Double) -> String { String(Double(Int(x * 100)) / 100) }
print("agreement (alpha ×3 with 1,000 bootstrap resamples, Fleiss, Cohen, contested): \(f(afterAgreement - start)) s")
print("rater signals (all, two passes): \(f(end - afterAgreement)) s")
print("total: \(f(end - start)) s; peak RSS \(usage.ru_maxrss / 1024) MB (includes the generated data)")
// Both at once, as the reviewer's page asks for them (two requests, two cores).
let both = seconds()
final class Box: @unchecked Sendable { var report: AgreementReport? }
let box = Box()
let group = DispatchGroup()
DispatchQueue.global().async(group: group) { box.report = AgreementReport.compute(plain, bootstrap: 1000) }
let concurrentAssessments = RaterQuality.assess(rated, units: units, raters: raterCount)
group.wait()
print("agreement and rater signals side by side on two cores: \(f(seconds() - both)) s (\(concurrentAssessments.count) raters)")
print("nominal alpha \(report.alpha[.nominal] as Any), flagged \(assessments.filter(\.flagged).count) of \(raterCount) honest raters")
var bySignal: [String: Int] = [:]
for assessment in assessments { for reason in assessment.reasons { bySignal[reason.signal, default: 0] += 1 } }
print("flags by signal: \(bySignal.sorted { $0.key < $1.key })")
