import Glibc
import Agreement
import Testing

/// The stop rules of adaptive overlap, checked against values worked by hand.
@Suite struct OverlapRuleTests {
    let a = OverlapRule.Vote(choice: 0), b = OverlapRule.Vote(choice: 1), tie = OverlapRule.Vote(choice: nil)

    @Test func fixedOverlapWantsExactlyItsCount() {
        let rule = OverlapRule.fixed(3)
        #expect(!rule.isAdaptive)
        #expect(rule.wanted([]) == 3)
        #expect(rule.wanted([a, a]) == 3, "agreement does not stop a fixed rule")
        #expect(rule.wanted([a, a, a]) == 3)
        #expect(rule.isSettled([a, b, a]))
    }

    @Test func leadRuleStopsWhenTheFirstKAgreeElseAskedForMore() {
        let rule = OverlapRule(minimum: 2, maximum: 5, lead: 2)
        #expect(rule.wanted([]) == 2, "the minimum first")
        #expect(rule.wanted([a]) == 2)
        #expect(rule.isSettled([a, a]) && rule.wanted([a, a]) == 2)
        #expect(rule.wanted([a, b]) == 3, "a dissent asks for one more")
        #expect(rule.wanted([a, b, a]) == 4, "a lead of one is not enough")
        #expect(rule.isSettled([a, b, a, a]), "a lead of two after the dissent")
        #expect(rule.wanted([a, tie]) == 3, "a tie says nothing about which is better")
        #expect(rule.isSettled([a, b, a, b, a]), "the maximum ends it whatever the votes")
        #expect(OverlapRule(minimum: 2, maximum: 5, lead: 1).wanted([a]) == 2, "never below the minimum")
    }

    @Test func weightedPosteriorMatchesHandWorkedOdds() {
        // Two raters of accuracy 0.9 agreeing: odds 9 × 9 = 81, posterior 81/82.
        let strong = OverlapRule.Vote(choice: 0, accuracy: 0.9)
        #expect(abs(OverlapRule.leadingPosterior([strong, strong]) - 81.0 / 82.0) < 1e-12)
        // 0.9 for A against 0.75 for B: odds 9 / 3 = 3, posterior 3/4.
        #expect(abs(OverlapRule.leadingPosterior([strong, OverlapRule.Vote(choice: 1, accuracy: 0.75)]) - 0.75) < 1e-12)
        // A near-random rater (clamped to 0.5) adds nothing.
        #expect(abs(OverlapRule.leadingPosterior([OverlapRule.Vote(choice: 0, accuracy: 0.3)]) - 0.5) < 1e-12)
        #expect(OverlapRule.leadingPosterior([tie]) == 0.5)

        let rule = OverlapRule(minimum: 1, maximum: 3, posterior: 0.8)
        #expect(rule.wanted([a]) == 2, "one unknown rater (0.75) is not enough for 0.8")
        #expect(rule.isSettled([a, a]), "two unknown raters agreeing: 9/10")
        #expect(rule.isSettled([strong]), "one rater known to be 90% right is")
        #expect(rule.wanted([strong, OverlapRule.Vote(choice: 1, accuracy: 0.9)]) == 3)
    }

    @Test func raterAccuracyIsShrunkTowardThePrior() {
        // 40 pairs, three raters; raters 0 and 1 always give the truth, rater 2 the
        // opposite. Dawid–Skene puts 0 and 1 at ≈ 1 and rater 2 at ≈ 0; with 40
        // shared judgements each and 20 pseudo-judgements at 0.75, the first two
        // land at (40 × 1 + 20 × 0.75) / 60 = 0.9167 and the third at the floor, 0.5.
        var judgements: [(unit: Int, rater: Int, label: Int)] = []
        for unit in 0..<40 {
            let truth = unit % 3 == 0 ? 1 : 0
            judgements += [(unit, 0, truth), (unit, 1, truth), (unit, 2, 1 - truth)]
        }
        judgements.append((40, 2, 0))  // a pair judged once says nothing
        let estimated = RaterAccuracy.estimate(judgements, units: 41, raters: 4, pseudoCount: 20)
        #expect(abs(estimated[0].accuracy - 0.9167) < 0.002)
        #expect(abs(estimated[1].accuracy - 0.9167) < 0.002)
        #expect(estimated[2].accuracy == 0.5)
        #expect(estimated[2].shared == 40)
        #expect(estimated[3].accuracy == OverlapRule.priorAccuracy && estimated[3].shared == 0, "unseen: the prior")
    }

    /// The empirical-Bayes prior: checked against a brute-force maximisation of the
    /// beta-binomial likelihood written out term by term (binomial coefficients
    /// included, which do not move the maximum), and the posterior mean it gives.
    @Test func empiricalBayesPriorMaximisesTheBetaBinomialLikelihood() {
        let raters: [(right: Double, n: Double)] = [(18, 20), (9, 10), (45, 50), (7, 10), (95, 100), (3, 6)]
        let fitted = RaterAccuracy.fitPrior(raters)
        func likelihood(_ mean: Double, _ strength: Double) -> Double {
            let a = mean * strength, b = (1 - mean) * strength
            var total = 0.0
            for rater in raters {
                // log Γ terms of the beta-binomial pmf, written out.
                total += lgamma(rater.n + 1) - lgamma(rater.right + 1) - lgamma(rater.n - rater.right + 1)
                total += lgamma(rater.right + a) + lgamma(rater.n - rater.right + b) - lgamma(rater.n + a + b)
                total -= lgamma(a) + lgamma(b) - lgamma(a + b)
            }
            return total
        }
        var best = (mean: 0.0, strength: 0.0, value: -Double.infinity)
        for meanStep in 50...99 {
            for power in 1...9 {
                let value = likelihood(Double(meanStep) / 100, pow(2, Double(power)))
                if value > best.value { best = (Double(meanStep) / 100, pow(2, Double(power)), value) }
            }
        }
        #expect(fitted.mean == best.mean && fitted.strength == best.strength, "\(fitted) vs \(best)")
        #expect(fitted.mean > 0.8 && fitted.mean < 0.95)
        // Two raters 100% right on shared pairs: the one known from more pairs is trusted more.
        var judgements: [(unit: Int, rater: Int, label: Int)] = []
        for unit in 0..<200 {
            let truth = unit % 2
            judgements += [(unit, 0, truth), (unit, 1, unit % 5 == 0 ? 1 - truth : truth)]
            if unit < 10 { judgements.append((unit, 2, truth)) }
        }
        let estimated = RaterAccuracy.estimate(judgements, units: 200, raters: 3)
        #expect(estimated[0].accuracy > estimated[2].accuracy, "known from 200 pairs beats known from 10")
        #expect(estimated[1].accuracy < estimated[0].accuracy)
    }

    /// Class-conditional votes: a rater who picks A on 95% of A-pairs and B on only
    /// 30% of B-pairs pushes log(0.95 / 0.7) for A and log(0.05 / 0.3) for B;
    /// an uncounted vote pushes nothing; a vote never pushes against its own side.
    @Test func classConditionalVotesAndUncountedOnes() {
        let forA = OverlapRule.Vote(choice: 0, pickA: 0.95, pickB: 0.3)
        let forB = OverlapRule.Vote(choice: 1, pickA: 0.95, pickB: 0.3)
        #expect(abs(forA.push - log(0.95 / 0.7)) < 1e-12)
        #expect(abs(forB.push - log(0.05 / 0.3)) < 1e-12)
        #expect(OverlapRule.Vote(choice: 0, pickA: 0.95, pickB: 0.3, counted: false).push == 0)
        #expect(OverlapRule.Vote(choice: 0, pickA: 0.4, pickB: 0.4).push == 0, "an inverting rater's A is not evidence for B here")
        // One accuracy for both sides is the old weight ±log(a / (1 − a)).
        #expect(abs(OverlapRule.Vote(choice: 1, accuracy: 0.9).push + log(9)) < 1e-12)
        // Uncounted votes move neither rule, but are spent.
        let rule = OverlapRule(minimum: 1, maximum: 3, lead: 1)
        #expect(!rule.isSettled([OverlapRule.Vote(choice: 0, counted: false)]))
        #expect(rule.wanted([OverlapRule.Vote(choice: 0, counted: false)]) == 2)
        // An automatic rule never stops on one rater's word: one vote at 0.99 does
        // not settle at threshold 0.7; two agreeing do; two for A and one for B at
        // 0.9 each do too (the leader has two); an uncounted second vote does not.
        let automatic = OverlapRule(minimum: 1, maximum: 5, automatic: true).resolved(threshold: 0.7)
        let sure = OverlapRule.Vote(choice: 0, accuracy: 0.99)
        #expect(!automatic.isSettled([sure]))
        #expect(automatic.isSettled([sure, sure]))
        let strong = OverlapRule.Vote(choice: 0, accuracy: 0.9)
        #expect(automatic.isSettled([strong, OverlapRule.Vote(choice: 1, accuracy: 0.9), strong]))
        #expect(!automatic.isSettled([sure, OverlapRule.Vote(choice: 0, accuracy: 0.99, counted: false)]))
        #expect(
            OverlapRule(minimum: 1, maximum: 5, automatic: true).resolved(threshold: nil).posterior == OverlapRule.initialAutomaticThreshold
        )
    }

    /// The automatic threshold against fixed overlap 3 worked by hand: raters all
    /// right with probability p give fixed-3 error 3p(1 − p)² + (1 − p)³ (0.00725 at
    /// p = 0.95, 0.216 at p = 0.7); the chosen threshold's simulated error is no
    /// worse, and a clean crowd spends far fewer judgements than a noisy one.
    @Test func automaticThresholdKeepsFixedThreesErrorPerCrowd() throws {
        func crowd(_ p: Double) -> [AutomaticThreshold.Rater] {
            (0..<10).map { _ in AutomaticThreshold.Rater(pickA: p, pickB: p, weight: 1) }
        }
        let clean = try #require(AutomaticThreshold.choose(raters: crowd(0.95), minimum: 1, maximum: 5))
        let noisy = try #require(AutomaticThreshold.choose(raters: crowd(0.7), minimum: 1, maximum: 5))
        #expect(abs(clean.fixedThreeError - 0.00725) < 0.004, "\(clean)")
        #expect(abs(noisy.fixedThreeError - 0.216) < 0.015, "\(noisy)")
        #expect(clean.expectedError <= clean.fixedThreeError && noisy.expectedError <= noisy.fixedThreeError)
        #expect(clean.expectedJudgements < 2.3, "two agreeing votes at 95% (posterior 0.997) settle: \(clean)")
        #expect(noisy.expectedJudgements > clean.expectedJudgements + 0.2, "\(noisy) against \(clean)")
        // Deterministic for a seed; nil without a counted rater.
        #expect(AutomaticThreshold.choose(raters: crowd(0.95), minimum: 1, maximum: 5) == clean)
        #expect(
            AutomaticThreshold.choose(
                raters: [AutomaticThreshold.Rater(pickA: 0.9, pickB: 0.9, weight: 1, counted: false)], minimum: 1, maximum: 5) == nil)
    }

    /// Model judges' votes: free evidence that never settles a pair alone.
    /// Two judges at 0.8 push log 4 each; a person at 0.75 log 3: σ(2 log 4 + log 3)
    /// = 48/49 ≈ 0.98 settles at a 0.96 threshold; without a person on the leading
    /// side nothing settles, however sure the models.
    @Test func judgesAddEvidenceButNeverSettleAlone() {
        let rule = OverlapRule(minimum: 1, maximum: 5, automatic: true).resolved(threshold: 0.96)
        let judge = OverlapRule.Vote(choice: 0, accuracy: 0.8)
        let person = OverlapRule.Vote(choice: 0, accuracy: 0.75)
        #expect(!rule.isSettled([person]), "one person alone: not two votes, posterior 0.75")
        #expect(rule.isSettled([person], models: [judge, judge]))
        #expect(abs(OverlapRule.leadingPosterior([person, judge, judge]) - 48.0 / 49.0) < 1e-12)
        #expect(!rule.isSettled([], models: [judge, judge, judge]), "no person's judgement yet")
        #expect(
            !rule.isSettled([OverlapRule.Vote(choice: 1, accuracy: 0.75)], models: [judge, judge, judge, judge]), "the person disagrees")
        #expect(rule.wanted([OverlapRule.Vote(choice: 1, accuracy: 0.75)], models: [judge, judge]) == 2)
        // A person's vote that moves nothing (estimated at chance) is not a person's word.
        #expect(!rule.isSettled([OverlapRule.Vote(choice: 0, accuracy: 0.5)], models: [judge, judge, judge]))
        #expect(!rule.isSettled([OverlapRule.Vote(choice: 0, accuracy: 0.75, counted: false)], models: [judge, judge, judge]))
        // Judges are not judgements spent: five people still end it.
        #expect(rule.isSettled(Array(repeating: OverlapRule.Vote(choice: nil), count: 5), models: [judge]))
        // The lead rule counts people only.
        let lead = OverlapRule(minimum: 1, maximum: 5, lead: 2)
        #expect(!lead.isSettled([person], models: [judge, judge, judge]))
    }
}
