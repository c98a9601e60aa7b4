import Agreement
import Testing
import TestSupport

@Suite struct DawidSkeneTests {
    /// Raters with known confusion matrices judge items with a known truth: EM
    /// recovers each rater's accuracy and the truth better than majority vote.
    @Test func recoversKnownRatersOnASeededCrowd() {
        var random = SplitMix(seed: 21)
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        let units = 2000
        let accuracies = [0.95, 0.9, 0.85, 0.75, 0.6, 0.55, 0.5, 0.3]  // the last is worse than chance on two classes
        var truth: [Int] = []
        var judgements: [(unit: Int, rater: Int, label: Int)] = []
        for unit in 0..<units {
            let t = uniform() < 0.6 ? 0 : 1
            truth.append(t)
            for (rater, accuracy) in accuracies.enumerated() where uniform() < 0.6 {
                judgements.append((unit, rater, uniform() < accuracy ? t : 1 - t))
            }
        }
        let result = DawidSkene.estimate(judgements, units: units, raters: accuracies.count, categories: 2)
        for (rater, accuracy) in accuracies.enumerated() {
            #expect(abs(result.accuracy[rater] - accuracy) < 0.04, "rater \(rater): \(result.accuracy[rater]) vs \(accuracy)")
        }
        #expect(abs(result.priors[0] - 0.6) < 0.03)
        var emRight = 0
        var majorityRight = 0
        var votes = Array(repeating: [0, 0], count: units)
        for judgement in judgements { votes[judgement.unit][judgement.label] += 1 }
        for unit in 0..<units {
            if (result.posteriors[unit][1] > 0.5 ? 1 : 0) == truth[unit] { emRight += 1 }
            if (votes[unit][1] > votes[unit][0] ? 1 : 0) == truth[unit] { majorityRight += 1 }
        }
        #expect(emRight > majorityRight, "EM \(emRight) vs majority \(majorityRight)")
    }
}
