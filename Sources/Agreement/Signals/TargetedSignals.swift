import Glibc

/// Prompt triggers (Rando & Tramèr 2023, "Universal jailbreak backdoors from
/// poisoned human feedback"): the rater picks the response the crowd rejects
/// whenever the prompt carries a trigger word.
struct TriggerSignal: RaterSignal {
    let name = "trigger"
    let usesConsensus = true
    let correction = SignalCorrection.posterior
    func evaluate(_ context: RaterContext) -> [SignalFinding] { TargetedPoisoning(context, target: .prompt).findings(name: name) }
}

/// Content targets (Baumgärtner et al. 2024, "Best-of-Venom"): the rater picks
/// whichever response mentions a target entity or word, whatever the crowd thinks.
struct ContentSignal: RaterSignal {
    let name = "content"
    let usesConsensus = true
    let correction = SignalCorrection.posterior
    func evaluate(_ context: RaterContext) -> [SignalFinding] { TargetedPoisoning(context, target: .response).findings(name: name) }
}

/// Both targeted attacks in one model. For a word `w` and a rater, compare two
/// explanations of their choices on the pairs `w` touches: honest (each choice as
/// likely as the ``CrowdModel`` says for this rater's sharpness and the others'
/// lean) against targeted (the attacker's side — against the lean for a prompt
/// trigger, the response containing `w` for content — 95% of the time). A single
/// rater's likelihood ratio is weak evidence when hundreds of words are tried, so
/// the model is hierarchical: a word is a planted target with prior probability
/// ½ / (words tried), and if it is, each rater uses it with probability ρ (1% to
/// 20%, averaged over); the word's Bayes factor multiplies over *every* rater, so
/// a trigger shared by a few poisoners stands out while an honest rater's stray
/// dissents on one word do not. A prompt-trigger poisoner inverts the truth, so it
/// goes against the lean as often as a typical honest rater goes with it; a
/// content poisoner picks the word's side 95% of the time. A rater's finding is the
/// posterior probability of *not* using any target.
struct TargetedPoisoning {
    enum Target { case prompt, response }

    static let attackerConsistency = 0.95
    /// Shares of raters that might use a planted word, averaged over.
    static let useRates = [0.01, 0.02, 0.05, 0.1, 0.2]

    struct Cell {
        var logRatio = 0.0
        var n = 0
        var hits = 0
        var expected = 0.0
    }

    let context: RaterContext
    let target: Target
    /// Per rater: the most likely target word and its cell and probability.
    var best: [(word: Int, cell: Cell, probability: Double)?]
    var wordsTried = 0

    init(_ context: RaterContext, target: Target) {
        self.context = context
        self.target = target
        let crowd = context.crowd!
        var wordCount = 0
        for facts in context.units {
            for word in facts.tokens { wordCount = max(wordCount, word + 1) }
            for word in facts.tokensOnlyA { wordCount = max(wordCount, word + 1) }
            for word in facts.tokensOnlyB { wordCount = max(wordCount, word + 1) }
        }
        var cells = [Cell](repeating: Cell(), count: wordCount)
        let shares = Self.useRates
        var bayesFactor = [[Double]](repeating: [Double](repeating: 0, count: shares.count), count: wordCount)
        var applicable = [Int](repeating: 0, count: wordCount)
        var perRater: [[(word: Int, cell: Cell)]] = Array(repeating: [], count: context.raters)
        // A flipper goes against the lean as often as a typical honest rater goes
        // with it (it inverts the truth, and the lean is sometimes wrong).
        let honestMedian = crowd.honestMedian
        for rater in 0..<context.raters {
            let gamma = max(0.3, crowd.raters[rater].sharpness)
            var touched: [Int] = []
            func add(_ word: Int, attackerPicksA: Bool, picksA: Bool, lean: Double, consistency: Double) {
                if cells[word].n == 0 { touched.append(word) }
                let honestA = CrowdModel.sigmoid(gamma * lean)
                let honestHit = attackerPicksA ? honestA : 1 - honestA
                let hit = attackerPicksA == picksA
                cells[word].n += 1
                cells[word].expected += honestHit
                if hit { cells[word].hits += 1 }
                cells[word].logRatio += hit ? log(consistency / max(1e-12, honestHit)) : log((1 - consistency) / max(1e-12, 1 - honestHit))
            }
            for index in context.byRater[rater] {
                let judgement = context.firsts[index]
                guard judgement.category < 2 else { continue }
                let lean = crowd.lean[index]
                let facts = context.units[judgement.unit]
                let picksA = judgement.category == 0
                switch target {
                case .prompt:
                    guard lean != 0 else { continue }
                    let consistency = min(Self.attackerConsistency, max(0.55, CrowdModel.sigmoid(honestMedian * abs(lean))))
                    for word in facts.tokens { add(word, attackerPicksA: lean < 0, picksA: picksA, lean: lean, consistency: consistency) }
                case .response:
                    for word in facts.tokensOnlyA { add(word, attackerPicksA: true, picksA: picksA, lean: lean, consistency: Self.attackerConsistency) }
                    for word in facts.tokensOnlyB { add(word, attackerPicksA: false, picksA: picksA, lean: lean, consistency: Self.attackerConsistency) }
                }
            }
            for word in touched {
                let cell = cells[word]
                cells[word] = Cell()
                applicable[word] += cell.n
                for (k, share) in shares.enumerated() { bayesFactor[word][k] += Self.logMix(cell.logRatio, share: share) }
                if cell.logRatio > 0 && cell.hits >= 2 { perRater[rater].append((word, cell)) }
            }
        }
        // Words seen often enough to carry a planted target (a trigger used three
        // times or more), and the prior spread over them.
        let tried = applicable.indices.filter { applicable[$0] >= 3 }
        wordsTried = tried.count
        let prior = 0.5 / Double(max(1, tried.count))
        // The word's Bayes factor averages over the share of raters using it (each
        // share equally likely a priori); the share's posterior weights follow.
        func logAverage(_ values: [Double]) -> Double {
            let top = values.max() ?? 0
            return top + log(values.map { exp($0 - top) }.reduce(0, +) / Double(values.count))
        }
        let wordPosterior: (Int) -> Double = { word in
            guard applicable[word] >= 3 else { return 0 }
            return CrowdModel.sigmoid(log(prior / (1 - prior)) + logAverage(bayesFactor[word]))
        }
        best = perRater.map { candidates in
            var top: (word: Int, cell: Cell, probability: Double)?
            for (word, cell) in candidates {
                // P(word is planted) × P(this rater uses it | planted, their choices).
                let factors = bayesFactor[word]
                let peak = factors.max() ?? 0
                let weights = factors.map { exp($0 - peak) }
                let total = weights.reduce(0, +)
                var uses = 0.0
                for (k, share) in shares.enumerated() { uses += weights[k] / total * CrowdModel.sigmoid(log(share / (1 - share)) + cell.logRatio) }
                let probability = wordPosterior(word) * uses
                if top == nil || probability > top!.probability { top = (word, cell, probability) }
            }
            return top
        }
    }

    /// log(1 − ρ + ρ·e^L), stable for large L.
    static func logMix(_ logRatio: Double, share ρ: Double) -> Double {
        if logRatio > 30 { return log(ρ) + logRatio + log1p((1 - ρ) / ρ * exp(-logRatio)) }
        return log1p(ρ * (exp(logRatio) - 1))
    }

    func findings(name: String) -> [SignalFinding] {
        (0..<context.raters).compactMap { rater in
            guard let top = best[rater] else {
                return context.byRater[rater].isEmpty ? nil
                    : SignalFinding(rater: rater, p: 1, numbers: ["probability": 0, "words_tried": Double(wordsTried)], detail: "no word targeted")
            }
            let cell = top.cell
            let word = context.token(top.word)
            let detail = switch target {
            case .prompt:
                "picked against the other raters' lean on \(cell.hits) of \(cell.n) pairs whose prompt contains \(word); "
                    + "an honest rater of this crowd would on about \(ConsensusSignal.count(cell.expected))"
            case .response:
                "picked the response containing \(word) on \(cell.hits) of \(cell.n) pairs where only one response does; "
                    + "an honest rater of this crowd would on about \(ConsensusSignal.count(cell.expected))"
            }
            return SignalFinding(
                rater: rater, p: 1 - top.probability,
                numbers: ["token": Double(top.word), "hits": Double(cell.hits), "n": Double(cell.n), "expected_hits": cell.expected,
                          "probability": top.probability, "words_tried": Double(wordsTried)],
                detail: detail + " (probability of a planted target \(ConsensusSignal.probability(top.probability)), \(wordsTried) words tried)")
        }
    }
}
