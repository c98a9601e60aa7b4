import Glibc
import JSON
import RewardModel
import Testing
import TestSupport

/// The listwise reward model: the Plackett–Luce likelihood against `choix`, its
/// gradient against finite differences, Spearman's ρ against scipy, and training
/// on rankings and on ratings.
@Suite struct ListwiseTests {
    @Test func likelihoodMatchesChoix() throws {
        var random = SplitMix(seed: 5)
        let items = 7
        let params = (0..<items).map { _ in Double(Int(random.next() % 2001) - 1000) / 400 }
        var rankings: [[Int]] = []
        for _ in 0..<30 {
            // Strict rankings of 2 to 7 of the items (choix's rankings may be partial).
            var order = Array(0..<items)
            order.shuffle(using: &random)
            rankings.append(Array(order.prefix(2 + Int(random.next() % 6))))
        }
        let input = JSONValue.object([
            "params": .array(params.map { .double($0) }),
            "rankings": .array(rankings.map { .array($0.map { .int(Int64($0)) }) }),
        ]).jsonText
        let result = try PythonReference.run(
            [
                "-c",
                """
                import json, sys
                import numpy as np
                import choix
                data = json.load(sys.stdin)
                params = np.array(data["params"])
                print(json.dumps([choix.log_likelihood_rankings([r], params) for r in data["rankings"]]))
                """,
            ], stdin: input)
        #expect(result.status == 0, "\(result)")
        let expected = (try JSONValue.parse(result.stdout).arrayValue ?? []).compactMap(\.doubleValue)
        #expect(expected.count == rankings.count)
        for (ranking, reference) in zip(rankings, expected) {
            let ours = PlackettLuce.logLikelihood(scores: params, groups: ranking.map { [$0] })
            #expect(abs(ours - reference) < 1e-9, "\(ranking): \(ours) vs choix \(reference)")
        }
    }

    @Test func gradientMatchesFiniteDifferencesWithTies() {
        let scores = [0.3, -1.2, 2.0, 0.7, -0.4]
        let groups = [[2], [0, 3], [4], [1]]
        let gradient = PlackettLuce.gradient(scores: scores, groups: groups)
        for i in scores.indices {
            var up = scores, down = scores
            up[i] += 1e-6
            down[i] -= 1e-6
            let numeric =
                -(PlackettLuce.logLikelihood(scores: up, groups: groups) - PlackettLuce.logLikelihood(scores: down, groups: groups)) / 2e-6
            #expect(abs(numeric - gradient[i]) < 1e-6, "item \(i): \(gradient[i]) vs \(numeric)")
        }
        // A hand-worked tie: two items, tied, equal scores: log L = 2·(0 − log 2).
        #expect(abs(PlackettLuce.logLikelihood(scores: [0, 0], groups: [[0, 1]]) - 2 * -log(2.0)) < 1e-12)
    }

    @Test func spearmanMatchesScipy() throws {
        var random = SplitMix(seed: 9)
        let x = (0..<60).map { _ in Double(random.next() % 7) }
        let y = x.map { $0 + Double(random.next() % 5) }
        let result = try PythonReference.run(
            [
                "-c",
                """
                import json, sys
                from scipy.stats import spearmanr
                x, y = json.load(sys.stdin)
                print(json.dumps(spearmanr(x, y).statistic))
                """,
            ], stdin: JSONValue.array([.array(x.map { .double($0) }), .array(y.map { .double($0) })]).jsonText)
        #expect(result.status == 0, "\(result)")
        let reference = try #require(try JSONValue.parse(result.stdout).doubleValue)
        let ours = try #require(ListwiseTrainer.spearman(x, y))
        #expect(abs(ours - reference) < 1e-9, "\(ours) vs scipy \(reference)")
    }

    /// Tasks of four responses; "because" and "correct" make a response better,
    /// "whatever" worse. Rankings (with some ties) and ratings of held-out tasks
    /// are predicted well, and the same seed gives the same model.
    @Test func learnsFromRankingsAndRatings() {
        var random = SplitMix(seed: 3)
        let filler = ["the", "answer", "is", "maybe", "we", "think", "result", "value", "simple", "data"]
        func response(quality: Int) -> String {
            let words = (0..<(4 + Int(random.next() % 20))).map { _ in filler[Int(random.next() % 10)] }.joined(separator: " ")
            return words + (quality >= 2 ? " because" : "") + (quality >= 1 ? " it is correct" : " whatever")
                + (quality == 3 ? " because of the evidence" : "")
        }
        var data = ListwiseData(hasher: FeatureHasher(bits: 16))
        for task in 0..<600 {
            var qualities = [0, 1, 2, 3]
            qualities.shuffle(using: &random)
            let rows = qualities.map { data.add(response(quality: $0)) }
            let order = rows.indices.sorted { qualities[$0] > qualities[$1] }
            if task % 2 == 0 {
                // Best first; every fifth ranking ties the two middle ones.
                var groups = order.map { [rows[$0]] }
                if task % 5 == 0 { groups = [groups[0], groups[1] + groups[2], groups[3]] }
                data.lists.append(groups)
            } else {
                for (row, quality) in zip(rows, qualities) { data.scored.append((row, Double(quality), task)) }
            }
        }
        let lists = Array(0..<data.lists.count)
        let scored = Array(0..<data.scored.count)
        let (trainLists, testLists) = (Array(lists.prefix(250)), Array(lists.dropFirst(250)))
        let (trainScored, testScored) = (Array(scored.prefix(1000)), Array(scored.dropFirst(1000)))
        var options = TrainingOptions()
        options.epochs = 10
        let (model, history) = ListwiseTrainer.train(data, lists: trainLists, scored: trainScored, options: options)
        #expect(history.bestEpoch >= 1)
        let accuracy = ListwiseTrainer.impliedPairAccuracy(model, data, lists: testLists)
        #expect(accuracy.accuracy > 0.9 && accuracy.pairs > 250, "\(accuracy)")
        let rho = ListwiseTrainer.spearman(model, data, scored: testScored) ?? 0
        #expect(rho > 0.8, "\(rho)")
        // Rankings alone also learn it (the listwise loss, no ratings).
        let rankingsOnly = ListwiseTrainer.train(data, lists: trainLists, scored: [], options: options).model
        #expect(ListwiseTrainer.impliedPairAccuracy(rankingsOnly, data, lists: testLists).accuracy > 0.9)
        #expect(ListwiseTrainer.train(data, lists: trainLists, scored: trainScored, options: options).model.parameters == model.parameters)
    }
}
