import Glibc
import Agreement
import JSON
import TestSupport
import Testing

/// The leaderboard's Bradley–Terry fit against scikit-learn's unregularised
/// logistic regression on Chatbot Arena's design (each battle a row with +1 for
/// model a and −1 for model b, written twice; a tie once as a win, once as a loss).
@Suite struct BradleyTerryFitTests {
    @Test func matchesScikitLearn() throws {
        var random = SplitMix(seed: 23)
        let strengths = [0.8, 0.3, 0.0, -0.4, -0.9]
        var votes: [BradleyTerryFit.Vote] = []
        for _ in 0..<600 {
            let a = Int(random.next() % 5)
            var b = Int(random.next() % 4)
            if b >= a { b += 1 }
            let p = 1 / (1 + exp(strengths[b] - strengths[a]))
            let u = Double(random.next() % 1_000_000) / 1_000_000
            let score = u < 0.1 ? 0.5 : (u - 0.1) / 0.9 < p ? 1.0 : 0.0
            votes.append(.init(a: a, b: b, scoreA: score))
        }
        let theta = try #require(BradleyTerryFit.fit(votes, models: 5))
        let ratings = BradleyTerryFit.ratings(theta)
        #expect(abs(ratings.reduce(0, +) / 5 - 1000) < 1e-9, "anchored: mean 1000")
        let input = JSONValue.array(votes.map { .array([.int(Int64($0.a)), .int(Int64($0.b)), .double($0.scoreA)]) }).jsonText
        let result = try PythonReference.run(
            [
                "-c",
                """
                import json, sys, math
                import numpy as np
                from sklearn.linear_model import LogisticRegression
                votes = json.load(sys.stdin)
                rows, labels = [], []
                for a, b, s in votes:
                    x = [0.0] * 5
                    x[a], x[b] = math.log(10), -math.log(10)
                    # As Chatbot Arena: every battle twice; a tie once won, once lost.
                    rows += [x, x]
                    labels += [1, 0] if s == 0.5 else [int(s == 1)] * 2
                lr = LogisticRegression(fit_intercept=False, penalty=None, tol=1e-10, max_iter=10000)
                lr.fit(np.array(rows), np.array(labels))
                elo = 400 * lr.coef_[0]
                print(json.dumps(list(elo - elo.mean() + 1000)))
                """,
            ], stdin: input)
        #expect(result.status == 0, "\(result)")
        let reference = (try JSONValue.parse(result.stdout).arrayValue ?? []).compactMap(\.doubleValue)
        #expect(reference.count == 5)
        for (ours, theirs) in zip(ratings, reference) {
            #expect(abs(ours - theirs) < 1e-6 * 1000, "\(ratings) vs scikit-learn \(reference)")
        }
        // The planted order comes back.
        #expect(ratings == ratings.sorted(by: >))
    }

    @Test func undefinedWithoutAMaximum() {
        // Model 0 never loses: its strength is unbounded.
        #expect(BradleyTerryFit.fit([.init(a: 0, b: 1, scoreA: 1), .init(a: 0, b: 1, scoreA: 1)], models: 2) == nil)
        // Two groups that never met.
        let apart: [BradleyTerryFit.Vote] = [
            .init(a: 0, b: 1, scoreA: 1), .init(a: 0, b: 1, scoreA: 0),
            .init(a: 2, b: 3, scoreA: 1), .init(a: 2, b: 3, scoreA: 0),
        ]
        #expect(BradleyTerryFit.fit(apart, models: 4) == nil)
        // One win each way: equal.
        let even = BradleyTerryFit.fit([.init(a: 0, b: 1, scoreA: 1), .init(a: 1, b: 0, scoreA: 1)], models: 2)
        #expect(even.map { abs($0[0]) < 1e-12 && abs($0[1]) < 1e-12 } == true)
    }

    /// Style control: the normalised length difference as a further regressor;
    /// ratings and its coefficient against scikit-learn with the same column.
    @Test func styleControlMatchesScikitLearn() throws {
        var random = SplitMix(seed: 31)
        let strengths = [0.5, 0.2, -0.1, -0.6]
        var votes: [BradleyTerryFit.Vote] = []
        for _ in 0..<800 {
            let a = Int(random.next() % 4)
            var b = Int(random.next() % 3)
            if b >= a { b += 1 }
            // Model 0 writes long answers; raters like length a little.
            let lengthA = Double(100 + Int(random.next() % 400) + (a == 0 ? 300 : 0))
            let lengthB = Double(100 + Int(random.next() % 400) + (b == 0 ? 300 : 0))
            let difference = (lengthA - lengthB) / (lengthA + lengthB)
            let p = 1 / (1 + exp(strengths[b] - strengths[a] - 1.5 * difference))
            let u = Double(random.next() % 1_000_000) / 1_000_000
            votes.append(.init(a: a, b: b, scoreA: u < 0.08 ? 0.5 : (u - 0.08) / 0.92 < p ? 1 : 0, covariates: [difference]))
        }
        let fitted = try #require(BradleyTerryFit.fitWithCovariates(votes, models: 4))
        let plain = try #require(BradleyTerryFit.fit(votes.map { .init(a: $0.a, b: $0.b, scoreA: $0.scoreA) }, models: 4))
        #expect(fitted.coefficients[0] > 0.5, "length is rewarded: \(fitted.coefficients)")
        #expect(
            BradleyTerryFit.ratings(fitted.theta)[0] < BradleyTerryFit.ratings(plain)[0],
            "controlling for length lowers the long-winded model")
        let input = JSONValue.array(
            votes.map { .array([.int(Int64($0.a)), .int(Int64($0.b)), .double($0.scoreA), .double($0.covariates[0])]) }
        ).jsonText
        let result = try PythonReference.run(
            [
                "-c",
                """
                import json, sys, math
                import numpy as np
                from sklearn.linear_model import LogisticRegression
                rows, labels = [], []
                for a, b, s, d in json.load(sys.stdin):
                    x = [0.0] * 5
                    x[a], x[b], x[4] = math.log(10), -math.log(10), d
                    rows += [x, x]
                    labels += [1, 0] if s == 0.5 else [int(s == 1)] * 2
                lr = LogisticRegression(fit_intercept=False, penalty=None, tol=1e-10, max_iter=10000)
                lr.fit(np.array(rows), np.array(labels))
                elo = 400 * lr.coef_[0][:4]
                print(json.dumps({"ratings": list(elo - elo.mean() + 1000), "length": lr.coef_[0][4]}))
                """,
            ], stdin: input)
        #expect(result.status == 0, "\(result)")
        let reference = try JSONValue.parse(result.stdout)
        let ratings = (reference["ratings"]?.arrayValue ?? []).compactMap(\.doubleValue)
        #expect(ratings.count == 4)
        for (ours, theirs) in zip(BradleyTerryFit.ratings(fitted.theta), ratings) {
            #expect(abs(ours - theirs) < 1e-3, "\(fitted) vs scikit-learn \(reference)")
        }
        #expect(abs(fitted.coefficients[0] - (reference["length"]?.doubleValue ?? 0)) < 1e-5)
    }

    /// Bootstrap intervals hold the fit and narrow with more votes.
    @Test func bootstrapIntervals() throws {
        var random = SplitMix(seed: 7)
        func votes(_ count: Int) -> [BradleyTerryFit.Vote] {
            (0..<count).map { _ in
                let a = Int(random.next() % 3)
                let b = (a + 1 + Int(random.next() % 2)) % 3
                let p = 1 / (1 + exp(Double(b - a) * 0.4))
                return .init(a: a, b: b, scoreA: Double(random.next() % 1000) / 1000 < p ? 1 : 0)
            }
        }
        let few = votes(150), many = votes(3000)
        let fewFit = BradleyTerryFit.ratings(try #require(BradleyTerryFit.fit(few, models: 3)))
        let fewCI = BradleyTerryFit.bootstrap(few, models: 3, rounds: 200, seed: 1)
        let manyCI = BradleyTerryFit.bootstrap(many, models: 3, rounds: 200, seed: 1)
        for model in 0..<3 {
            let interval = try #require(fewCI[model])
            #expect(interval.low <= fewFit[model] && fewFit[model] <= interval.high)
            let narrow = try #require(manyCI[model])
            #expect(narrow.high - narrow.low < (interval.high - interval.low) / 2)
        }
        #expect(BradleyTerryFit.bootstrap(few, models: 3, rounds: 200, seed: 1).map { $0?.low } == fewCI.map { $0?.low }, "seeded")
    }
}
