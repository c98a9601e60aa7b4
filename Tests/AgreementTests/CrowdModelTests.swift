import Agreement
import TestSupport
import Testing

/// The crowd model and the decisions built on it, on simulated crowds whose
/// families were written apart from the model (fixed seeds here; the benchmark
/// under `Benchmarks/raters` draws fresh ones every run).
@Suite struct CrowdModelTests {
    static func evaluate(
        _ family: CrowdSimulator.Family, shares: [Double], seeds: ClosedRange<UInt64>, medianVolume: Double = 20
    ) -> CrowdEvaluation {
        var evaluation = CrowdEvaluation()
        for share in shares {
            for seed in seeds {
                let crowd = CrowdSimulator(
                    family: family, seed: seed &* 7919 &+ UInt64(share * 100), attackerShare: share, medianVolume: medianVolume)
                evaluation.add(
                    crowd, RaterQuality.assess(crowd.judgements, units: crowd.units, raters: crowd.kinds.count), enoughEvidenceOnly: true)
            }
        }
        return evaluation
    }

    @Test(arguments: [CrowdSimulator.Family.difficulty, .confusion])
    func untargetedAttackersAreFoundWhereTheEvidenceIsEnough(family: CrowdSimulator.Family) {
        let result = Self.evaluate(family, shares: [0.05, 0.3], seeds: 1...4)
        print(
            "\(family): precision \(result.precision) recall \(result.untargetedRecall) (\(result.untargeted) with enough evidence, "
                + "\(result.tooFew) without) honest flagged \(result.honestFlagged) of \(result.honest) (malicious \(result.honestMalicious), "
                + "unreliable \(result.honestUnreliable) of which good \(result.goodHonestFlagged); weak honest \(result.weakHonestFlagged) of \(result.weakHonest) flagged), AUC \(result.auc)"
        )
        #expect(result.untargeted >= 30, "too few attackers with enough evidence to measure")
        #expect(result.precision >= 0.95)
        #expect(result.untargetedRecall >= 0.95)
        #expect(result.auc >= 0.98)
        #expect(
            result.falseFlags <= 2, "honest raters flagged malicious, or good ones unreliable: \(result.falseFlags) of \(result.honest)")
    }

    /// Detection grows with the evidence: a rater with a handful of judgements is
    /// "not enough evidence yet", and recall rises with judgements per rater.
    @Test func recallGrowsWithJudgementsAndFewAreNotEnough() {
        var evaluation = CrowdEvaluation()
        var fewFlagged = 0, fewNotEnough = 0, few = 0
        for seed in 1...6 as ClosedRange<UInt64> {
            let crowd = CrowdSimulator(family: .difficulty, seed: seed, attackerShare: 0.2)
            let assessments = RaterQuality.assess(crowd.judgements, units: crowd.units, raters: crowd.kinds.count)
            evaluation.add(crowd, assessments)
            for assessment in assessments where assessment.judgements < 8 && crowd.kinds[assessment.rater] == .honest {
                few += 1
                if assessment.flagged { fewFlagged += 1 }
                if !assessment.enoughEvidence { fewNotEnough += 1 }
            }
        }
        func recall(_ bucket: Int) -> Double {
            let counts = evaluation.recallByVolume[bucket] ?? (0, 1)
            return Double(counts.caught) / Double(max(1, counts.total))
        }
        print("recall by judgements: \(CrowdEvaluation.volumeBuckets.map { "≥\($0): \(recall($0))" })")
        func pooled(_ buckets: [Int]) -> Double {
            let counts = buckets.map { evaluation.recallByVolume[$0] ?? (0, 0) }
            return Double(counts.map(\.caught).reduce(0, +)) / Double(max(1, counts.map(\.total).reduce(0, +)))
        }
        #expect(recall(5) < recall(10))
        #expect(recall(10) < pooled([40, 80, 160]))
        #expect(pooled([40, 80, 160]) >= 0.8)
        #expect(few > 10)
        #expect(fewFlagged == 0)
        #expect(fewNotEnough == few, "\(fewNotEnough) of \(few) honest raters with < 8 judgements are 'not enough evidence'")
    }

    /// The browser case from the issue: seven raters, one clicking at random (59%
    /// consensus agreement), the best honest one at 94%. The random rater is the
    /// most suspicious, and flagged, with a sentence saying what an honest rater of
    /// this crowd would have done.
    @Test func aRandomRaterRanksAboveEveryHonestOne() {
        var random = SplitMix(seed: 5)
        var judgements: [RatedJudgement] = []
        let units = (0..<120).map { _ in UnitFacts(lengthA: 400, lengthB: 400) }
        let accuracy = [0.95, 0.9, 0.88, 0.85, 0.8, 0.78]
        for unit in units.indices {
            let truth = Int(random.next() % 2)
            for rater in 0..<7 {
                let right = rater < 6 ? Double(random.next() % 1000) / 1000 < accuracy[rater] : random.next() % 2 == 0
                judgements.append(
                    RatedJudgement(
                        unit: unit, rater: rater, category: right ? truth : 1 - truth, shownSwapped: random.next() % 2 == 0,
                        durationMilliseconds: rater == 6 ? 2500 : 9000))
            }
        }
        let (assessments, crowd) = RaterQuality.assessCrowd(judgements, units: units, raters: 7)
        let randomRater = assessments[6]
        #expect(assessments.prefix(6).allSatisfy { $0.suspicion < randomRater.suspicion })
        #expect(randomRater.flagged)
        #expect((randomRater.honestProbability ?? 1) < 0.01)
        let consensus = randomRater.reasons.first { $0.signal == "consensus" }?.detail ?? ""
        #expect(consensus.contains("an honest rater of this crowd would on about"), "\(consensus)")
        #expect(consensus.contains("less than 1 time in"), "\(consensus)")
        #expect(assessments.prefix(6).allSatisfy { !$0.flagged && ($0.honestProbability ?? 0) > 0.9 })
        #expect(crowd.flagged == 1 && crowd.expectedFalseFlags < 0.01)
    }

    /// Below chance is its own signal: a rater right on a quarter of 200 pairs is
    /// inverting labels, however noisy the crowd (honest raters right 70% of the time).
    @Test func belowChanceIsASignal() {
        var random = SplitMix(seed: 8)
        var judgements: [RatedJudgement] = []
        let units = (0..<200).map { _ in UnitFacts(lengthA: 400, lengthB: 400) }
        for unit in units.indices {
            let truth = Int(random.next() % 2)
            for rater in 0..<6 {
                let p = rater == 5 ? 0.25 : 0.7
                let right = Double(random.next() % 1000) / 1000 < p
                judgements.append(RatedJudgement(unit: unit, rater: rater, category: right ? truth : 1 - truth))
            }
        }
        let assessments = RaterQuality.assess(judgements, units: units, raters: 6)
        #expect(assessments[5].reasons.contains { $0.signal == "below_chance" }, "\(assessments[5].signals["below_chance"] ?? [:])")
        #expect(assessments.prefix(5).allSatisfy { !$0.flagged })
    }

    /// Targeted poisoning with enough evidence (raters judging ~10 pairs carrying
    /// their target): prompt triggers and content targets found, no honest rater
    /// flagged, and the reason names the word.
    @Test func targetedPoisonersWithEnoughPairsAreFound() {
        var evaluation = CrowdEvaluation()
        var named = 0, flaggedTargeted = 0
        for seed in 1...4 as ClosedRange<UInt64> {
            let crowd = CrowdSimulator(family: .difficulty, seed: seed, attackerShare: 0.2, medianVolume: 120)
            let assessments = RaterQuality.assess(
                crowd.judgements, units: crowd.units, raters: crowd.kinds.count,
                tokenNames: [CrowdSimulator.trigger: "sudo", CrowdSimulator.entity: "acme"])
            evaluation.add(crowd, assessments, enoughEvidenceOnly: true)
            for assessment in assessments where crowd.kinds[assessment.rater].isTargeted && assessment.flagged {
                flaggedTargeted += 1
                if assessment.reasons.contains(where: { $0.detail.contains("'sudo'") || $0.detail.contains("'acme'") }) { named += 1 }
            }
        }
        print(
            "targeted: recall \(evaluation.targetedRecall) (\(evaluation.targeted)), honest flagged \(evaluation.honestFlagged) of \(evaluation.honest)"
        )
        #expect(evaluation.targeted >= 15)
        #expect(evaluation.targetedRecall >= 0.8)
        #expect(evaluation.falseFlags <= 1)
        #expect(named == flaggedTargeted)
    }

    /// The tail behind the reviewer's sentence is a Poisson-binomial sum; checked
    /// against brute-force enumeration of every outcome on a small case.
    @Test func honestTailMatchesEnumeration() {
        // Three raters on eight pairs; rater 0 goes against the others' lean often.
        var judgements: [RatedJudgement] = []
        let units = (0..<8).map { _ in UnitFacts(lengthA: 1, lengthB: 1) }
        for unit in 0..<8 {
            judgements.append(RatedJudgement(unit: unit, rater: 0, category: unit % 2))
            judgements.append(RatedJudgement(unit: unit, rater: 1, category: 0))
            judgements.append(RatedJudgement(unit: unit, rater: 2, category: unit < 6 ? 0 : 1))
        }
        let (assessments, _) = RaterQuality.assessCrowd(judgements, units: units, raters: 3)
        let numbers = assessments[0].signals["consensus"] ?? [:]
        // The lean is the others' two-coin Dawid–Skene posterior: rater 1 always says
        // A and so tells nothing; rater 2 leans every pair (A on 0–5, B on 6 and 7),
        // and rater 0 goes against it on 1, 3, 5 and 6.
        #expect(numbers["leaned"] == 8)
        #expect(numbers["against"] == 4)
        #expect(numbers["honest_tail"] == nil || (numbers["honest_tail"] ?? 2) <= 1)
        // Brute force: P(at least k of n independent trials with probabilities q).
        let q = [0.1, 0.2, 0.3, 0.4, 0.25]
        var brute = 0.0
        for mask in 0..<(1 << q.count) {
            var p = 1.0
            for (i, qi) in q.enumerated() { p *= mask & (1 << i) != 0 ? qi : 1 - qi }
            if mask.nonzeroBitCount >= 2 { brute += p }
        }
        #expect(abs(CrowdModel.poissonBinomialUpper(2, q) - brute) < 1e-12)
    }
}
