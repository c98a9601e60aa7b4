/// How well the assessments of simulated crowds find their attackers.
public struct CrowdEvaluation: Sendable {
    public var honest = 0
    public var honestFlagged = 0
    /// Honest raters flagged malicious (always a false flag).
    public var honestMalicious = 0
    /// Honest raters flagged unreliable, and how many of them were good (right on
    /// at least ``goodAccuracy`` of the pairs with a better side, as the issue's
    /// real-crowd table counts a good worker) — the false ones.
    public var honestUnreliable = 0
    public var goodHonestFlagged = 0
    /// Honest raters below ``badAccuracy``: weak, not malicious; and how many were flagged.
    public var weakHonest = 0
    public var weakHonestFlagged = 0
    public static let goodAccuracy = 0.8
    public static let badAccuracy = 0.6
    public var untargeted = 0
    public var untargetedCaught = 0
    public var targeted = 0
    public var targetedCaught = 0
    /// Per attacker kind: (caught, total).
    public var perKind: [String: (caught: Int, total: Int)] = [:]
    /// Recall of untargeted attackers by judgements per rater (bucket's lower bound).
    public var recallByVolume: [Int: (caught: Int, total: Int)] = [:]
    /// Suspicion of attackers and of honest raters (for the ranking AUC).
    public var attackerScores: [Double] = []
    public var honestScores: [Double] = []
    /// Raters left out because the detector has not enough evidence yet.
    public var tooFew = 0
    /// Targeted attackers left out because they judged fewer than
    /// ``targetedEvidence`` pairs carrying their target.
    public var tooFewTargeted = 0
    public static let targetedEvidence = 8

    public static let volumeBuckets = [5, 10, 20, 40, 80, 160]
    /// Recall of targeted attackers by the pairs carrying their target they judged.
    public var recallByTargetPairs: [Int: (caught: Int, total: Int)] = [:]
    public static let targetBuckets = [0, 4, 8, 16]

    public init() {}

    /// Adds one crowd. With `enoughEvidenceOnly`, raters the detector says it cannot
    /// judge yet are counted apart (not as misses or false flags).
    public mutating func add(_ crowd: CrowdSimulator, _ assessments: [RaterAssessment], enoughEvidenceOnly: Bool = false) {
        for assessment in assessments {
            let kind = crowd.kinds[assessment.rater]
            if enoughEvidenceOnly && !assessment.enoughEvidence && !kind.isTargeted && kind != .honest {
                tooFew += 1
                continue
            }
            if kind == .honest {
                honest += 1
                let accuracy = crowd.accuracy(rater: assessment.rater)
                if accuracy < Self.badAccuracy {
                    weakHonest += 1
                    if assessment.flagged { weakHonestFlagged += 1 }
                }
                if assessment.finding == .malicious { honestMalicious += 1 }
                if assessment.finding == .unreliable {
                    honestUnreliable += 1
                    if accuracy >= Self.goodAccuracy { goodHonestFlagged += 1 }
                }
                if assessment.flagged { honestFlagged += 1 }
                honestScores.append(assessment.suspicion)
                continue
            }
            if kind.isTargeted {
                let pairs = crowd.targetedPairs(rater: assessment.rater)
                let bucket = Self.targetBuckets.last { $0 <= pairs } ?? 0
                recallByTargetPairs[bucket, default: (0, 0)].total += 1
                if assessment.flagged { recallByTargetPairs[bucket, default: (0, 0)].caught += 1 }
            }
            if kind.isTargeted && enoughEvidenceOnly && crowd.targetedPairs(rater: assessment.rater) < Self.targetedEvidence {
                tooFewTargeted += 1
                continue
            }
            attackerScores.append(assessment.suspicion)
            perKind[kind.rawValue, default: (0, 0)].total += 1
            if assessment.flagged { perKind[kind.rawValue, default: (0, 0)].caught += 1 }
            if kind.isTargeted {
                targeted += 1
                if assessment.flagged { targetedCaught += 1 }
            } else {
                untargeted += 1
                if assessment.flagged { untargetedCaught += 1 }
                let bucket = Self.volumeBuckets.last { $0 <= assessment.judgements } ?? Self.volumeBuckets[0]
                recallByVolume[bucket, default: (0, 0)].total += 1
                if assessment.flagged { recallByVolume[bucket, default: (0, 0)].caught += 1 }
            }
        }
    }

    /// False flags: honest raters called malicious, and good honest raters (right on
    /// ≥ 80%) called unreliable. A weak honest rater flagged unreliable is a true
    /// finding — the simulators draw honest skill as low as chance.
    public var falseFlags: Int { honestMalicious + goodHonestFlagged }
    public var flagged: Int { falseFlags + untargetedCaught + targetedCaught }
    public var precision: Double { flagged == 0 ? 1 : Double(flagged - falseFlags) / Double(flagged) }
    public var untargetedRecall: Double { untargeted == 0 ? 1 : Double(untargetedCaught) / Double(untargeted) }
    public var targetedRecall: Double { targeted == 0 ? 1 : Double(targetedCaught) / Double(targeted) }
    /// False flags per 1,000 honest raters.
    public var falseFlagsPerThousand: Double { honest == 0 ? 0 : 1000 * Double(falseFlags) / Double(honest) }

    /// Probability that a random attacker is ranked above a random honest rater (ties count half).
    public var auc: Double {
        guard !attackerScores.isEmpty, !honestScores.isEmpty else { return 1 }
        let honest = honestScores.sorted()
        var total = 0.0
        for score in attackerScores {
            // Count honest scores below and equal by binary search.
            var low = 0, high = honest.count
            while low < high { let mid = (low + high) / 2; if honest[mid] < score { low = mid + 1 } else { high = mid } }
            var equalEnd = low
            while equalEnd < honest.count && honest[equalEnd] == score { equalEnd += 1 }
            total += Double(low) + 0.5 * Double(equalEnd - low)
        }
        return total / (Double(attackerScores.count) * Double(honest.count))
    }
}
