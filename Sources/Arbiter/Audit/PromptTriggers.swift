import Agreement
import Glibc

/// Prompt triggers (Rando & Tramèr 2023): words whose pairs' labels are likelier
/// reversed than not. A trigger reverses the relation between the responses and
/// the label whatever the reward model's accuracy, so each prompt word is tested by
/// the likelihood of its pairs' labels with and without a flip, under the
/// out-of-fold model calibrated to the file (P(label) = σ(a·s), `a` fitted by
/// maximum likelihood): T = Σ log((1 − q) / q) over its pairs, q = σ(a·s), against
/// its mean and variance when the labels follow the model. Pairs near a coin flip
/// for the model weigh nothing; a weak model gives weak but honest evidence, where
/// counting pairs "against the model" drowns in its errors. See
/// ``find(_:promptWords:names:chosenProbability:against:options:)`` for the search.
enum PromptTriggers {
    /// The clusters found, and each trigger word's strength (its evidence relative
    /// to the strongest one's, so the clearest trigger's pairs come first).
    static func find(
        _ pairs: [DatasetAudit.Pair], promptWords: [[Int]], names: [String], chosenProbability: [Double], against: [Bool],
        options: DatasetAudit.Options
    ) -> (clusters: [DatasetAudit.Cluster], strength: [Int: Double]) {
        var clusters: [DatasetAudit.Cluster] = []
        var clusterOf: [Int: Double] = [:]
        let baseRate = pairs.isEmpty ? 0 : Double(against.filter { $0 }.count) / Double(pairs.count)
        let logits = chosenProbability.map { p in log(max(1e-9, p) / max(1e-9, 1 - p)) }
        let temperature = Self.calibration(logits)
        // Each pair's part of the statistic, and each word's pairs.
        var pairT = [Double](repeating: 0, count: pairs.count)
        var pairMean = [Double](repeating: 0, count: pairs.count)
        var pairVariance = [Double](repeating: 0, count: pairs.count)
        var pairsOf = Array(repeating: [Int](), count: names.count)
        var promptsOf = Array(repeating: Set<Int>(), count: names.count)
        var promptOf = [Int](repeating: 0, count: pairs.count)
        var promptIDs: [String: Int] = [:]
        for (index, words) in promptWords.enumerated() {
            let margin = temperature * logits[index]  // log-odds the label is right
            let q = CrowdModel.sigmoid(margin)
            let right = CrowdModel.sigmoid(abs(margin))  // P(the label follows the model)
            pairT[index] = log(max(1e-12, 1 - q) / max(1e-12, q))
            pairMean[index] = abs(margin) * (1 - 2 * right)
            pairVariance[index] = 4 * margin * margin * right * (1 - right)
            let prompt =
                promptIDs[pairs[index].prompt]
                ?? {
                    promptIDs[pairs[index].prompt] = promptIDs.count
                    return promptIDs.count - 1
                }()
            promptOf[index] = prompt
            for word in words {
                pairsOf[word].append(index)
                if promptsOf[word].count < options.minimumClusterPrompts { promptsOf[word].insert(prompt) }
            }
        }
        // A word tried must sit in several distinct prompts (a question's own words
        // share its few pairs, responses and raters), and not in every pair.
        let promptCandidates = pairsOf.indices.filter {
            pairsOf[$0].count >= options.minimumClusterPairs && promptsOf[$0].count >= options.minimumClusterPrompts
                && pairsOf[$0].count < pairs.count
        }
        // Greedy, strongest first: once a word is taken as a trigger its pairs are
        // explained, and the other words of those prompts are tested on the rest —
        // otherwise every word of a poisoned prompt inherits the trigger's evidence.
        // Pairs of one prompt are not independent (they share responses, raters and
        // the model's errors), so each round reads the words' z-scores against the
        // empirical null of all the words tried (Efron 2004: centre at the median,
        // spread 1.4826 × MAD, never narrower than 1).
        var explained = [Bool](repeating: false, count: pairs.count)
        var pairsWithResponse: [String: [Int]] = [:]
        for (index, pair) in pairs.enumerated() {
            pairsWithResponse[pair.chosen, default: []].append(index)
            if pair.rejected != pair.chosen { pairsWithResponse[pair.rejected, default: []].append(index) }
        }
        var taken = Set<Int>()
        for _ in 0..<Self.maximumPromptClusters {
            var scored: [(word: Int, z: Double, n: Int, hits: Int)] = []
            for word in promptCandidates where !taken.contains(word) {
                var t = 0.0, mean = 0.0, variance = 0.0, n = 0, hits = 0
                var prompts = Set<Int>()
                for index in pairsOf[word] where !explained[index] {
                    t += pairT[index]
                    mean += pairMean[index]
                    variance += pairVariance[index]
                    n += 1
                    if against[index] { hits += 1 }
                    if prompts.count < options.minimumClusterPrompts { prompts.insert(promptOf[index]) }
                }
                // The distinct prompts count on what is left too: a trigger's own
                // prompts (the question with the trigger appended) explain nothing else.
                guard n >= options.minimumClusterPairs, prompts.count >= options.minimumClusterPrompts, variance > 0 else { continue }
                scored.append((word, (t - mean) / variance.squareRoot(), n, hits))
            }
            guard !scored.isEmpty else { break }
            let centre = Statistics.median(scored.map(\.z))
            let spread = max(1, 1.4826 * Statistics.median(scored.map { abs($0.z - centre) }))
            guard let best = scored.max(by: { $0.z < $1.z }) else { break }
            let z = (best.z - centre) / spread
            let p = min(1, 0.5 * erfc(z / 2.0.squareRoot()) * Double(promptCandidates.count))
            guard z > 0, p < options.clusterLevel else { break }
            clusters.append(
                DatasetAudit.Cluster(
                    word: names[best.word], place: .prompt, pairs: pairsOf[best.word].count, hits: best.hits, expectedRate: baseRate, p: p))
            clusterOf[best.word] = z
            taken.insert(best.word)
            // Its pairs are explained, and so are the pairs sharing a response with
            // them: the reward model learnt those responses from reversed labels, so
            // its scores there are not evidence about anything else.
            for index in pairsOf[best.word] {
                explained[index] = true
                for text in [pairs[index].chosen, pairs[index].rejected] {
                    for other in pairsWithResponse[text] ?? [] { explained[other] = true }
                }
            }
        }
        // A prompt cluster's strength: its evidence relative to the strongest one,
        // so the pairs of the clearest trigger come first.
        let strongest = clusterOf.values.max() ?? 1
        for (word, z) in clusterOf { clusterOf[word] = z / strongest }
        return (clusters, clusterOf)
    }

    /// Prompt clusters found at most (each a round over every word).
    static let maximumPromptClusters = 10

    /// The temperature `a` that makes σ(a·s) the likeliest probability of each
    /// label given the out-of-fold score `s` (a grid, 0.05 to 3): a weak model's
    /// scores are shrunk toward a coin flip, an underconfident one's stretched.
    static func calibration(_ scores: [Double]) -> Double {
        var best = 1.0, bestLikelihood = -Double.infinity
        for step in 1...60 {
            let a = Double(step) * 0.05
            var likelihood = 0.0
            for score in scores { likelihood += -log1p(exp(-a * score)) }
            if likelihood > bestLikelihood {
                bestLikelihood = likelihood
                best = a
            }
        }
        return best
    }
}
