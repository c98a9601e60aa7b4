import Agreement
import Glibc

// Usage: RaterBenchmark [CROWDS_PER_CELL] [FIRST_SEED] [SVG_DIR]
// Every family × attacker share (5, 10, 20, 30%) on CROWDS_PER_CELL crowds of 120
// raters, seeds from FIRST_SEED (default: the clock, so every run is fresh).
let arguments = CommandLine.arguments
let crowdsPerCell = arguments.count > 1 ? Int(arguments[1]) ?? 5 : 5
var clock = timespec()
clock_gettime(CLOCK_REALTIME, &clock)
let clockSeed = UInt64(clock.tv_sec) &* 1_000_003 &+ UInt64(clock.tv_nsec)
let firstSeed = arguments.count > 2 ? UInt64(arguments[2]) ?? clockSeed : clockSeed
let svgDirectory = arguments.count > 3 ? arguments[3] : nil
print("seeds from \(firstSeed), \(crowdsPerCell) crowds per family and attacker share")

func percent(_ value: Double) -> String { "\(Double((value * 1000).rounded()) / 10)%" }
func fixed(_ value: Double, _ digits: Int = 3) -> String {
    let scale = pow(10.0, Double(digits))
    return "\((value * scale).rounded() / scale)"
}

var seed = firstSeed
var overall: [CrowdSimulator.Family: CrowdEvaluation] = [:]
var volumeCurves: [CrowdSimulator.Family: CrowdEvaluation] = [:]
print(
    "| family | attackers | raters | precision | recall (untargeted) | recall (targeted) | honest flagged / 1,000 | AUC | not enough evidence |"
)
print("|---|---|---|---|---|---|---|---|---|")
for family in CrowdSimulator.Family.allCases {
    let shares: [Double] = family == .classic ? [0.0] : [0.05, 0.1, 0.2, 0.3]
    for share in shares {
        var cell = CrowdEvaluation()
        var raters = 0
        for _ in 0..<crowdsPerCell {
            seed &+= 1
            let crowd = CrowdSimulator(family: family, seed: seed, raters: 120, attackerShare: share)
            let assessments = RaterQuality.assess(crowd.judgements, units: crowd.units, raters: crowd.kinds.count)
            raters += crowd.kinds.count
            if getenv("TARGETED") != nil {
                for a in assessments {
                    let t = max(a.signals["trigger"]?["probability"] ?? 0, a.signals["content"]?["probability"] ?? 0)
                    let kind = crowd.kinds[a.rater]
                    if kind == .honest && t > 0.05 || kind.isTargeted {
                        let g = a.signals["trigger"] ?? [:]
                        print(
                            "targeted", family.rawValue, kind.rawValue, crowd.targetedPairs(rater: a.rater), fixed(t, 4),
                            "tok=\(Int(g["token"] ?? -1)) hits=\(Int(g["hits"] ?? -1))/\(Int(g["n"] ?? -1)) exp=\(fixed(g["expected_hits"] ?? -1, 1)) p=\(fixed(g["probability"] ?? -1, 3))"
                        )
                    }
                }
            }
            if getenv("MISSES") != nil {
                for a in assessments where crowd.kinds[a.rater] != .honest && !a.flagged && a.judgements >= 60 {
                    let c = a.signals["consensus"] ?? [:]
                    print(
                        "missed", family.rawValue, crowd.kinds[a.rater].rawValue, a.judgements,
                        ["honest_probability", "leaned", "against", "expected_against", "neutral"].map { "\($0)=\(fixed(c[$0] ?? -1))" },
                        a.signals["collusion"] ?? [:])
                }
            }
            cell.add(crowd, assessments, enoughEvidenceOnly: true)
            overall[family, default: CrowdEvaluation()].add(crowd, assessments, enoughEvidenceOnly: true)
            volumeCurves[family, default: CrowdEvaluation()].add(crowd, assessments)
        }
        let attackers = family == .classic ? "22 of 82" : percent(share)
        print(
            "| \(family.rawValue) | \(attackers) | \(raters) | \(fixed(cell.precision)) | \(fixed(cell.untargetedRecall)) | \(fixed(cell.targetedRecall)) | "
                + "\(fixed(cell.falseFlagsPerThousand, 1)) | \(fixed(cell.auc, 4)) | \(cell.tooFew) |")
    }
}
print("\nper family, all shares (raters with enough evidence):")
for family in CrowdSimulator.Family.allCases {
    guard let evaluation = overall[family] else { continue }
    let kinds = evaluation.perKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.caught)/\($0.value.total)" }.joined(
        separator: ", ")
    print(
        "\(family.rawValue): precision \(fixed(evaluation.precision)) recall \(fixed(evaluation.untargetedRecall)) targeted \(fixed(evaluation.targetedRecall)) "
            + "false flags/1000 \(fixed(evaluation.falseFlagsPerThousand, 2)) AUC \(fixed(evaluation.auc, 4)) — \(kinds)")
    print(
        "  honest raters flagged: \(evaluation.honestFlagged) of \(evaluation.honest) — malicious \(evaluation.honestMalicious), "
            + "unreliable \(evaluation.honestUnreliable) (good, right on ≥ 80%: \(evaluation.goodHonestFlagged)); "
            + "weak honest raters (right on < 60%) flagged: \(evaluation.weakHonestFlagged) of \(evaluation.weakHonest)")
}
print("\nrecall of untargeted attackers by judgements per rater (all raters):")
for family in CrowdSimulator.Family.allCases {
    guard let evaluation = volumeCurves[family] else { continue }
    let cells = CrowdEvaluation.volumeBuckets.compactMap { bucket -> String? in
        guard let counts = evaluation.recallByVolume[bucket], counts.total > 0 else { return nil }
        return "≥\(bucket): \(fixed(Double(counts.caught) / Double(counts.total), 2)) (\(counts.total))"
    }
    print("\(family.rawValue): " + cells.joined(separator: ", "))
}
print("\nrecall of targeted attackers by pairs carrying their target they judged (all raters):")
for family in CrowdSimulator.Family.allCases {
    guard let evaluation = volumeCurves[family] else { continue }
    let cells = CrowdEvaluation.targetBuckets.compactMap { bucket -> String? in
        guard let counts = evaluation.recallByTargetPairs[bucket], counts.total > 0 else { return nil }
        return "≥\(bucket): \(fixed(Double(counts.caught) / Double(counts.total), 2)) (\(counts.total))"
    }
    print("\(family.rawValue): " + cells.joined(separator: ", "))
}

// An SVG of recall versus judgements per rater, one line per family.
if let svgDirectory {
    let width = 640.0, height = 380.0, left = 60.0, right = 150.0, top = 45.0, bottom = 50.0
    let colours = ["#1f77b4", "#d62728", "#2ca02c"]
    let buckets = CrowdEvaluation.volumeBuckets
    func x(_ index: Int) -> Double { left + (width - left - right) * Double(index) / Double(buckets.count - 1) }
    func y(_ value: Double) -> Double { top + (height - top - bottom) * (1 - value) }
    var svg =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    svg += "<text x=\"\(left)\" y=\"18\" font-size=\"14\">Recall of untargeted attackers by judgements per rater</text>\n"
    for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
        svg += "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(y(tick))\" y2=\"\(y(tick))\" stroke=\"#ddd\"/>"
        svg += "<text x=\"\(left - 8)\" y=\"\(y(tick) + 4)\" text-anchor=\"end\">\(fixed(tick, 2))</text>\n"
    }
    for (index, bucket) in buckets.enumerated() {
        let label = index + 1 < buckets.count ? "\(bucket)–\(buckets[index + 1] - 1)" : "\(bucket)+"
        svg += "<text x=\"\(x(index))\" y=\"\(height - bottom + 18)\" text-anchor=\"middle\">\(label)</text>\n"
    }
    svg += "<text x=\"\((left + width - right) / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">judgements by the rater</text>\n"
    for (familyIndex, family) in CrowdSimulator.Family.allCases.enumerated() {
        guard let evaluation = volumeCurves[family] else { continue }
        let points = buckets.enumerated().compactMap { index, bucket -> String? in
            guard let counts = evaluation.recallByVolume[bucket], counts.total > 0 else { return nil }
            return "\(x(index)),\(y(Double(counts.caught) / Double(counts.total)))"
        }
        let colour = colours[familyIndex % colours.count]
        svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>\n"
        for point in points {
            let xy = point.split(separator: ",")
            svg += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"3.5\" fill=\"\(colour)\"/>"
        }
        svg +=
            "<text x=\"\(width - right + 10)\" y=\"\(top + 20 + 18 * Double(familyIndex))\" fill=\"\(colour)\">\(family.rawValue)</text>\n"
    }
    svg += "</svg>\n"
    let path = svgDirectory + "/recall-by-volume.svg"
    if let file = fopen(path, "w") {
        fputs(svg, file)
        fclose(file)
        print("wrote \(path)")
    }
}

// DUMP=family prints every rater of one crowd of that family (for development).
if let dump = getenv("DUMP").map({ String(cString: $0) }), let family = CrowdSimulator.Family(rawValue: dump) {
    let crowd = CrowdSimulator(family: family, seed: firstSeed, raters: 120, attackerShare: 0.2)
    let assessments = RaterQuality.assess(crowd.judgements, units: crowd.units, raters: crowd.kinds.count)
    for a in assessments.sorted(by: { $0.suspicion > $1.suspicion }) {
        let c = a.signals["consensus"] ?? [:]
        let t = a.signals["trigger"] ?? [:]
        let e = a.signals["content"] ?? [:]
        let numbers = [
            a.suspicion, c["honest_probability"] ?? -1, c["sharpness"] ?? -1, c["leaned"] ?? -1, c["against"] ?? -1,
            c["expected_against"] ?? -1, t["probability"] ?? -1, t["hits"] ?? -1, t["n"] ?? -1, e["probability"] ?? -1, e["hits"] ?? -1,
            e["n"] ?? -1,
        ]
        print(
            crowd.kinds[a.rater].rawValue, a.judgements, a.flagged ? "FLAG" : "-", numbers.map { fixed($0, 3) }.joined(separator: " "),
            a.reasons.map(\.signal))
    }
}
