@testable import Agreement
import TestSupport
import Testing

@Suite struct StatisticsTests {
    @Test func binomialTailsMatchClosedForms() {
        // P(X ≥ 10 | 10, 0.5) = 2^-10; P(X ≤ 0 | 5, 0.2) = 0.8^5.
        #expect(abs(Statistics.binomialUpper(10, 10, 0.5) - 1.0 / 1024) < 1e-15)
        #expect(abs(Statistics.binomialLower(0, 5, 0.2) - 0.32768) < 1e-12)
        // scipy.stats.binom.sf(6, 20, 0.3) = P(X ≥ 7) = 0.39199...
        #expect(abs(Statistics.binomialUpper(7, 20, 0.3) - 0.3919901877990756) < 1e-12)
    }

    @Test func chiSquareSurvivalMatchesScipy() {
        // scipy.stats.chi2.sf(10, 4) = 0.040427681994512805; chi2.sf(3, 2) = exp(-1.5).
        #expect(abs(Statistics.chiSquareSurvival(10, degreesOfFreedom: 4) - 0.040427681994512805) < 1e-12)
        #expect(abs(Statistics.chiSquareSurvival(3, degreesOfFreedom: 2) - 0.22313016014842982) < 1e-12)
        // chi2.sf(1200, 1000) ≈ 1.0e-5 (log space keeps large df finite).
        #expect(Statistics.chiSquareSurvival(1200, degreesOfFreedom: 1000) < 1e-4)
    }

    /// The reliability finding's two numbers against reference implementations.
    @Test func betaCDFAndWeightedQuantileMatchScipyAndNumPy() {
        // scipy.stats.beta.cdf: 8 right of 20 against a threshold of 0.752 (Beta(9, 13))
        // is strong evidence, 14 of 20 (Beta(15, 7)) is not.
        #expect(abs(Statistics.betaCDF(0.752, 9, 13) - 0.999658790968215) < 1e-9)
        #expect(abs(Statistics.betaCDF(0.752, 15, 7) - 0.7506730122744624) < 1e-9)
        #expect(abs(Statistics.betaCDF(0.3, 2, 5) - 0.5798250000000003) < 1e-9)
        #expect(abs(Statistics.betaCDF(0.5, 89, 67) - 0.038437985626661834) < 1e-9)
        #expect(abs(Statistics.betaCDF(0.9, 0.5, 0.5) - 0.7951672353008665) < 1e-9)
        // numpy.quantile(numpy.repeat([0.5, 0.7, 0.9, 0.95], [1, 5, 10, 20]), q, method="inverted_cdf")
        let values = [0.9, 0.5, 0.95, 0.7], weights = [10.0, 1, 20, 5]
        #expect([0.1, 0.3, 0.5, 0.9].map { Statistics.weightedQuantile(values, weights: weights, $0) } == [0.7, 0.9, 0.95, 0.95])
    }

    @Test func fisherMatchesTheTeaTastingExample() {
        // Fisher's lady tasting tea: 3 of 4 right, one-sided p = 17/70.
        #expect(abs(Statistics.fisherUpper(a: 3, b: 1, c: 1, d: 3) - 17.0 / 70.0) < 1e-12)
    }

    @Test func benjaminiHochbergMatchesStatsmodels() {
        // statsmodels.stats.multitest.multipletests([0.01,0.04,0.03,0.005], method='fdr_bh')
        let adjusted = Statistics.benjaminiHochberg([0.01, 0.04, 0.03, 0.005])
        let expected = [0.02, 0.04, 0.04, 0.02]
        for (a, b) in zip(adjusted, expected) { #expect(abs(a - b) < 1e-12) }
    }
}

@Suite struct RaterQualityTests {
    /// Precision and recall per attacker kind over several seeded crowds.
    static func evaluate(seeds: [UInt64]) -> (perKind: [String: (caught: Int, total: Int)], falseFlags: Int, honest: Int, flagged: Int) {
        var perKind: [String: (caught: Int, total: Int)] = [:]
        var falseFlags = 0
        var honest = 0
        var flagged = 0
        for seed in seeds {
            let crowd = RaterSimulator(seed: seed)
            let assessments = RaterQuality.assess(crowd.judgements, units: crowd.units, raters: crowd.kinds.count)
            for assessment in assessments {
                let kind = crowd.kinds[assessment.rater]
                if assessment.flagged { flagged += 1 }
                if kind == .honest {
                    honest += 1
                    if assessment.flagged { falseFlags += 1 }
                } else {
                    perKind[kind.rawValue, default: (0, 0)].total += 1
                    if assessment.flagged { perKind[kind.rawValue, default: (0, 0)].caught += 1 }
                }
            }
        }
        return (perKind, falseFlags, honest, flagged)
    }

    @Test func catchesTheAttackersAndSparesHonestRaters() {
        let result = Self.evaluate(seeds: Array(1...10))
        let precision = Double(result.flagged - result.falseFlags) / Double(max(1, result.flagged))
        print("rater quality over 10 crowds: precision \(precision), honest flagged \(result.falseFlags) of \(result.honest)")
        for (kind, counts) in result.perKind.sorted(by: { $0.key < $1.key }) {
            print("  \(kind): recall \(Double(counts.caught) / Double(counts.total)) (\(counts.caught)/\(counts.total))")
        }
        #expect(precision >= 0.95)
        for kind in ["random", "position", "flipping", "fast", "colluding", "length"] {
            let counts = result.perKind[kind] ?? (0, 1)
            #expect(Double(counts.caught) / Double(counts.total) >= 0.95, "recall for \(kind)")
        }
    }

    @Test func eachAttackIsExplainedByItsOwnSignal() {
        let expected: [RaterSimulator.Kind: String] = [
            .positionBiased: "position", .tooFast: "speed", .colluding: "collusion", .lengthScripted: "length",
            .labelFlipping: "consensus", .random: "consensus",
        ]
        var explained: [RaterSimulator.Kind: (hit: Int, total: Int)] = [:]
        for seed in 1...5 as ClosedRange<UInt64> {
            let crowd = RaterSimulator(seed: seed)
            for assessment in RaterQuality.assess(crowd.judgements, units: crowd.units, raters: crowd.kinds.count) {
                let kind = crowd.kinds[assessment.rater]
                guard let signal = expected[kind] else { continue }
                explained[kind, default: (0, 0)].total += 1
                if assessment.reasons.contains(where: { $0.signal == signal }) { explained[kind, default: (0, 0)].hit += 1 }
            }
        }
        for (kind, counts) in explained {
            #expect(
                Double(counts.hit) / Double(counts.total) >= 0.9,
                "\(kind): \(counts.hit) of \(counts.total) explained by \(expected[kind]!)")
        }
    }

    /// No overlap at all (one judgement per pair), so there is no consensus to
    /// compare with; a reward model's confident out-of-fold predictions still
    /// expose the rater who keeps answering against them.
    @Test func contradictingConfidentRewardPredictionsIsASignal() {
        var random = SplitMix(seed: 11)
        var units: [UnitFacts] = []
        var judgements: [RatedJudgement] = []
        for unit in 0..<440 {
            let truth = Int(random.next() % 2)
            // The model is right 90% of the time and confident on four pairs in five.
            let modelSide = random.next() % 10 == 0 ? 1 - truth : truth
            let confident = random.next() % 5 != 0
            let p = confident ? (modelSide == 0 ? 0.9 : 0.1) : 0.55
            units.append(UnitFacts(lengthA: 300, lengthB: 300, modelPreferenceA: p))
            let rater = unit % 11
            let right = rater == 10 ? random.next() % 10 < 3 : random.next() % 100 < 85
            judgements.append(
                RatedJudgement(unit: unit, rater: rater, category: right ? truth : 1 - truth, shownSwapped: random.next() % 2 == 0))
        }
        let assessments = RaterQuality.assess(judgements, units: units, raters: 11)
        let poisoner = assessments[10]
        #expect(poisoner.reasons.contains { $0.signal == "reward_model" }, "\(poisoner.signals)")
        #expect((poisoner.signals["reward_model"]?["rate"] ?? 0) > 0.5)
        for honest in assessments.prefix(10) {
            #expect(
                !honest.reasons.contains { $0.signal == "reward_model" }, "rater \(honest.rater): \(honest.signals["reward_model"] ?? [:])")
        }
        // Without predictions the signal is simply absent.
        let bare = RaterQuality.assess(judgements, units: units.map { UnitFacts(lengthA: $0.lengthA, lengthB: $0.lengthB) }, raters: 11)
        #expect(bare.allSatisfy { $0.signals["reward_model"] == nil })
    }

    @Test func intransitiveCyclesAreFound() {
        // 30 prompts with three responses each (0 best, 2 worst); 6 consistent raters
        // and one who always prefers in a circle.
        var units: [UnitFacts] = []
        var judgements: [RatedJudgement] = []
        for prompt in 0..<30 {
            for (a, b) in [(0, 1), (1, 2), (0, 2)] {
                let unit = units.count
                units.append(UnitFacts(lengthA: 500, lengthB: 500, responses: (prompt, a, b)))
                for rater in 0..<6 {
                    judgements.append(RatedJudgement(unit: unit, rater: rater, category: 0, shownSwapped: rater % 2 == 0))
                }
                // The cycler: 0 over 1, 1 over 2, but 2 over 0.
                judgements.append(RatedJudgement(unit: unit, rater: 6, category: (a, b) == (0, 2) ? 1 : 0, shownSwapped: unit % 2 == 0))
            }
        }
        let assessments = RaterQuality.assess(judgements, units: units, raters: 7)
        #expect(assessments[6].signals["cycles"]?["cycles"] == 30)
        #expect(assessments[6].reasons.contains { $0.signal == "cycles" })
        #expect(assessments[0].signals["cycles"]?["cycles"] == 0)
        #expect(!assessments[0].reasons.contains { $0.signal == "cycles" })
    }

    /// A rater right on every pair, whose better responses the random sides happened
    /// to put on the left only 43% of the time, follows the responses, not a side:
    /// not flagged (a test against a fair coin flagged exactly this, p ≈ 0.003). A
    /// rater who picks left whenever unsure is. Rater 0 and rater 1 judge every pair,
    /// four of 40 others each pair; a fifth of the pairs are hard (the others wrong
    /// on 40% of them).
    @Test func positionIsJudgedAgainstWhereTheBetterResponseWasShown() {
        var units: [UnitFacts] = []
        var judgements: [RatedJudgement] = []
        var random = CrowdSimulator.Generator(state: 5)
        for unit in 0..<600 {
            units.append(UnitFacts(lengthA: 500, lengthB: 500))
            let truth = unit % 2  // 0: A is better
            let hard = unit % 5 == 0
            var raters: Set<Int> = [0, 1]
            while raters.count < 6 { raters.insert(2 + Int(random.uniform() * 40)) }
            for rater in raters.sorted() {
                // Where the better response is shown: on the left half the time, for rater 0 43%.
                let betterLeft = random.uniform() < (rater == 0 ? 0.43 : 0.5)
                let shownSwapped = truth == 0 ? !betterLeft : betterLeft  // swapped: B on the left
                var choice = truth
                if rater == 1 && hard {
                    choice = shownSwapped ? 1 : 0  // left when unsure
                } else if rater > 1 && hard && random.uniform() < 0.4 {
                    choice = 1 - truth
                }
                judgements.append(RatedJudgement(unit: unit, rater: rater, category: choice, shownSwapped: shownSwapped))
            }
        }
        let assessments = RaterQuality.assess(judgements, units: units, raters: 42)
        let careful = assessments[0]
        let leftRate = careful.signals["position"]?["left_rate"] ?? 0
        #expect(leftRate > 0.40 && leftRate < 0.46, "\(leftRate)")
        #expect(Statistics.binomialLower(Int(leftRate * 600), 600, 0.5) < 0.01, "a fair coin would call this biased")
        #expect(!careful.reasons.contains { $0.signal == "position" }, "\(careful.signals["position"] ?? [:])")
        #expect(!careful.flagged, "\(careful.reasons)")
        #expect(assessments[1].reasons.contains { $0.signal == "position" }, "\(assessments[1].signals["position"] ?? [:])")
        #expect(assessments[2...].allSatisfy { !$0.reasons.contains { $0.signal == "position" } })
    }

    @Test func reasonsCarryTheirNumbers() {
        let crowd = RaterSimulator(seed: 99)
        let assessments = RaterQuality.assess(crowd.judgements, units: crowd.units, raters: crowd.kinds.count)
        let positional = assessments.first { crowd.kinds[$0.rater] == .positionBiased }!
        #expect(positional.flagged)
        #expect(positional.reasons.contains { $0.signal == "position" && $0.detail.contains("shown on the left") })
        #expect((positional.signals["position"]?["left_rate"] ?? 0) == 1)
        let honest = assessments.filter { crowd.kinds[$0.rater] == .honest }
        #expect(honest.allSatisfy { $0.signals["consensus"]?["rate"] != nil })
        #expect(Statistics.median(honest.map(\.suspicion)) < 0.5)
    }
}
