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
        let result = try PythonReference.run(["-c", """
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
            """], stdin: input)
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
        let apart: [BradleyTerryFit.Vote] = [.init(a: 0, b: 1, scoreA: 1), .init(a: 0, b: 1, scoreA: 0),
                                             .init(a: 2, b: 3, scoreA: 1), .init(a: 2, b: 3, scoreA: 0)]
        #expect(BradleyTerryFit.fit(apart, models: 4) == nil)
        // One win each way: equal.
        let even = BradleyTerryFit.fit([.init(a: 0, b: 1, scoreA: 1), .init(a: 1, b: 0, scoreA: 1)], models: 2)
        #expect(even.map { abs($0[0]) < 1e-12 && abs($0[1]) < 1e-12 } == true)
    }
}
