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
        // The words each unit offers, as flat arrays (reading a UnitFacts copies its
        // arrays, which costs more than the arithmetic): A-side words, then B-side.
        var start = [Int](repeating: 0, count: context.units.count + 1)
        var middle = [Int](repeating: 0, count: context.units.count)
        var words: [Int32] = []
        var wordCount = 0
        for (unit, facts) in context.units.enumerated() {
            switch target {
            case .prompt:
                words.append(contentsOf: facts.tokens.map(Int32.init))
                middle[unit] = words.count
            case .response:
                words.append(contentsOf: facts.tokensOnlyA.map(Int32.init))
                middle[unit] = words.count
                words.append(contentsOf: facts.tokensOnlyB.map(Int32.init))
            }
            start[unit + 1] = words.count
        }
        for word in words { wordCount = max(wordCount, Int(word) + 1) }
        // A planted target is rare by design (a trigger in a few percent of the
        // prompts); a word in most of them ("item" in every prompt of a crowd) is the
        // data's own, and a rater who goes against the lean wherever it appears is
        // caught by the crowd model instead.
        var unitsWith = [Int](repeating: 0, count: wordCount)
        for word in words { unitsWith[Int(word)] += 1 }
        let commonAbove = max(3, context.units.count / 2)
        var cells = [Cell](repeating: Cell(), count: wordCount)
        let shares = Self.useRates
        let logStay = shares.map { log1p(-$0) }
        // Per word and share: the word's log Bayes factor (flat, word-major).
        var bayesFactor = [Double](repeating: 0, count: wordCount * shares.count)
        var applicable = [Int](repeating: 0, count: wordCount)
        var perRater: [[(word: Int, cell: Cell)]] = Array(repeating: [], count: context.raters)
        // A flipper goes against the lean as often as a typical honest rater goes
        // with it (it inverts the truth, and the lean is sometimes wrong).
        let honestMedian = crowd.honestMedian
        // Each choice's contribution, computed once per judgement (it is the same
        // for every word of the pair): the attacker's side, honest chance of it,
        // and the log-likelihood ratio.
        struct Step { var hit: Bool; var expected: Double; var logRatio: Double }
        func step(gamma: Double, attackerPicksA: Bool, picksA: Bool, lean: Double, consistency: Double) -> Step {
            let honestA = CrowdModel.sigmoid(gamma * lean)
            let honestHit = attackerPicksA ? honestA : 1 - honestA
            let hit = attackerPicksA == picksA
            return Step(
                hit: hit, expected: honestHit,
                logRatio: hit ? log(consistency / max(1e-12, honestHit)) : log((1 - consistency) / max(1e-12, 1 - honestHit)))
        }
        // The A/B choices grouped by rater in one sequential pass (reading the
        // judgements rater by rater would jump around the whole array).
        var first = [Int](repeating: 0, count: context.raters + 1)
        for judgement in context.firsts where judgement.category < 2 { first[judgement.rater + 1] += 1 }
        for rater in 0..<context.raters { first[rater + 1] += first[rater] }
        var cursor = first
        var choiceUnit = [Int32](repeating: 0, count: first[context.raters])
        var choiceA = [Bool](repeating: false, count: first[context.raters])
        var choiceLean = [Double](repeating: 0, count: first[context.raters])
        for (index, judgement) in context.firsts.enumerated() where judgement.category < 2 {
            let slot = cursor[judgement.rater]
            cursor[judgement.rater] += 1
            choiceUnit[slot] = Int32(judgement.unit)
            choiceA[slot] = judgement.category == 0
            choiceLean[slot] = crowd.lean[index]
        }
        // Content: how much the whole crowd favours each word's side where it is in
        // one response only — log((picks of its side + 1) / (picks of the other + 1)).
        // A word marking the better response is favoured by everyone, and an honest
        // rater picking it against a wrong lean is no surprise; a planted entity is
        // favoured by its poisoners only.
        var favour = [Double](repeating: 0, count: target == .response ? wordCount : 0)
        if target == .response {
            var forWord = [Int](repeating: 0, count: wordCount), againstWord = [Int](repeating: 0, count: wordCount)
            for slot in choiceUnit.indices {
                let unit = Int(choiceUnit[slot])
                for index in start[unit]..<start[unit + 1] {
                    let onA = index < middle[unit]
                    if onA == choiceA[slot] { forWord[Int(words[index])] += 1 } else { againstWord[Int(words[index])] += 1 }
                }
            }
            for word in 0..<wordCount { favour[word] = log(Double(forWord[word] + 1) / Double(againstWord[word] + 1)) }
        }
        var touched: [Int] = []
        // Immutable copies for the loop below: a `var` captured by a closure is
        // boxed and every access checked for exclusivity, millions of times here.
        let (wordList, unitStart, unitMiddle, raterFirst) = (words, start, middle, first)
        let (units, picks, leans, wordFavour) = (choiceUnit, choiceA, choiceLean, favour)
        cells.withUnsafeMutableBufferPointer { cells in
            func add(_ range: Range<Int>, _ step: Step, _ touched: inout [Int]) {
                for slot in range {
                    let word = Int(wordList[slot])
                    if cells[word].n == 0 { touched.append(word) }
                    cells[word].n += 1
                    cells[word].expected += step.expected
                    if step.hit { cells[word].hits += 1 }
                    cells[word].logRatio += step.logRatio
                }
            }
            for rater in 0..<context.raters {
                let gamma = max(0.3, crowd.raters[rater].sharpness)
                touched.removeAll(keepingCapacity: true)
                for slot in raterFirst[rater]..<raterFirst[rater + 1] {
                    let unit = Int(units[slot])
                    guard unitStart[unit] < unitStart[unit + 1] else { continue }
                    let lean = leans[slot]
                    let picksA = picks[slot]
                    switch target {
                    case .prompt:
                        guard lean != 0 else { continue }
                        let consistency = min(Self.attackerConsistency, max(0.55, CrowdModel.sigmoid(honestMedian * abs(lean))))
                        add(
                            unitStart[unit]..<unitMiddle[unit],
                            step(gamma: gamma, attackerPicksA: lean < 0, picksA: picksA, lean: lean, consistency: consistency),
                            &touched)
                    case .response:
                        // Only where the others leaned *away* from the word's side: there
                        // an entity poisoner still picks it and an honest rater rarely
                        // does. Where the word sits on the side the others lean to (a
                        // word marking the better response, nearly always) both pick it,
                        // and a crowd model that under-predicts honest agreement a little
                        // would read that as evidence; where nobody else judged, nothing
                        // tells a quality word from a favoured entity.
                        // The honest chance of picking the word's side is the lean's, moved
                        // by how much the crowd favours that word (per word).
                        guard lean != 0 else { continue }
                        let range = lean < 0 ? unitStart[unit]..<unitMiddle[unit] : unitMiddle[unit]..<unitStart[unit + 1]
                        let hit = (lean < 0) == picksA
                        for slot in range {
                            let honestHit = CrowdModel.sigmoid(-gamma * abs(lean) + wordFavour[Int(wordList[slot])])
                            let consistency = Self.attackerConsistency
                            add(
                                slot..<(slot + 1),
                                Step(
                                    hit: hit, expected: honestHit,
                                    logRatio: hit
                                        ? log(consistency / max(1e-12, honestHit)) : log((1 - consistency) / max(1e-12, 1 - honestHit))),
                                &touched)
                        }
                    }
                }
                for word in touched {
                    let cell = cells[word]
                    cells[word] = Cell()
                    applicable[word] += cell.n
                    if cell.logRatio < -10 {
                        // e^L is negligible: log(1 − ρ + ρ·e^L) = log(1 − ρ), precomputed.
                        for k in shares.indices { bayesFactor[word * shares.count + k] += logStay[k] }
                    } else if cell.logRatio != 0 {
                        for (k, share) in shares.enumerated() {
                            bayesFactor[word * shares.count + k] += Self.logMix(cell.logRatio, share: share)
                        }
                    }
                    if cell.logRatio > 0 && cell.hits >= 2 { perRater[rater].append((word, cell)) }
                }
            }
        }
        // Words seen often enough to carry a planted target (a trigger used three
        // times or more), and the prior spread over them.
        let tried = applicable.indices.filter { applicable[$0] >= 3 && unitsWith[$0] <= commonAbove }
        wordsTried = tried.count
        let prior = 0.5 / Double(max(1, tried.count))
        // The word's Bayes factor averages over the share of raters using it (each
        // share equally likely a priori); the share's posterior weights follow.
        func logAverage(_ values: [Double]) -> Double {
            let top = values.max() ?? 0
            return top + log(values.map { exp($0 - top) }.reduce(0, +) / Double(values.count))
        }
        let wordPosterior: (Int) -> Double = { word in
            guard applicable[word] >= 3, unitsWith[word] <= commonAbove else { return 0 }
            return CrowdModel.sigmoid(
                log(prior / (1 - prior)) + logAverage(Array(bayesFactor[(word * shares.count)..<((word + 1) * shares.count)])))
        }
        best = perRater.map { candidates in
            var top: (word: Int, cell: Cell, probability: Double)?
            for (word, cell) in candidates {
                // P(word is planted) × P(this rater uses it | planted, their choices).
                let factors = Array(bayesFactor[(word * shares.count)..<((word + 1) * shares.count)])
                let peak = factors.max() ?? 0
                let weights = factors.map { exp($0 - peak) }
                let total = weights.reduce(0, +)
                var uses = 0.0
                for (k, share) in shares.enumerated() {
                    uses += weights[k] / total * CrowdModel.sigmoid(log(share / (1 - share)) + cell.logRatio)
                }
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
                return context.byRater[rater].isEmpty
                    ? nil
                    : SignalFinding(
                        rater: rater, p: 1, numbers: ["probability": 0, "words_tried": Double(wordsTried)], detail: "no word targeted")
            }
            let cell = top.cell
            let word = context.token(top.word)
            let detail =
                switch target {
                case .prompt:
                    "picked against the other raters' lean on \(cell.hits) of \(cell.n) pairs whose prompt contains \(word); "
                        + "an honest rater of this crowd would on about \(ConsensusSignal.count(cell.expected))"
                case .response:
                    "picked the response containing \(word) on \(cell.hits) of \(cell.n) pairs where only one response does; "
                        + "an honest rater of this crowd would on about \(ConsensusSignal.count(cell.expected))"
                }
            return SignalFinding(
                rater: rater, p: 1 - top.probability,
                numbers: [
                    "token": Double(top.word), "hits": Double(cell.hits), "n": Double(cell.n), "expected_hits": cell.expected,
                    "probability": top.probability, "words_tried": Double(wordsTried),
                ],
                detail: detail
                    + " (probability of a planted target \(ConsensusSignal.probability(top.probability)), \(wordsTried) words tried)")
        }
    }
}
