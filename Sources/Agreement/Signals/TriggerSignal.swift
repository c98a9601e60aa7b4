/// Targeted poisoning: disagreement with the consensus concentrated on prompts
/// carrying one token (Fisher's exact test per token, Bonferroni over the tokens
/// the rater saw often enough to test).
struct TriggerSignal: RaterSignal {
    let name = "trigger"
    let usesConsensus = true

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        var tokenStart = [Int](repeating: 0, count: context.units.count + 1)
        var tokenList: [Int32] = []
        for (index, facts) in context.units.enumerated() {
            tokenList.append(contentsOf: facts.tokens.map(Int32.init))
            tokenStart[index + 1] = tokenList.count
        }
        let tokenCount = Int(tokenList.max() ?? -1) + 1
        // Flat counters indexed by token id, reset after each rater.
        var tokenSeen = [Int](repeating: 0, count: tokenCount)
        var tokenDisagree = [Int](repeating: 0, count: tokenCount)
        return (0..<context.raters).compactMap { rater in
            let comparable = context.byRater[rater].filter { context.consensus[$0] != nil }
            guard comparable.count >= context.options.minimumJudgements else { return nil }
            let disagreeing = comparable.map { context.consensus[$0] != context.firsts[$0].category }
            let totalDisagree = disagreeing.filter { $0 }.count
            var touched: [Int] = []
            for (position, index) in comparable.enumerated() {
                let unit = context.firsts[index].unit
                for slot in tokenStart[unit]..<tokenStart[unit + 1] {
                    let token = Int(tokenList[slot])
                    if tokenSeen[token] == 0 { touched.append(token) }
                    tokenSeen[token] += 1
                    if disagreeing[position] { tokenDisagree[token] += 1 }
                }
            }
            var best: (token: Int, p: Double, disagree: Int, n: Int)?
            var tested = 0
            for token in touched {
                let n = tokenSeen[token]
                let disagree = tokenDisagree[token]
                tokenSeen[token] = 0
                tokenDisagree[token] = 0
                // Every token seen often enough to be tested counts toward the
                // correction, whether or not it shows disagreement (no selection).
                guard n >= 3 else { continue }
                tested += 1
                guard disagree >= 3 else { continue }
                let p = Statistics.fisherUpper(
                    a: disagree, b: n - disagree, c: totalDisagree - disagree, d: comparable.count - n - (totalDisagree - disagree))
                if best == nil || p < best!.p { best = (token, p, disagree, n) }
            }
            guard let best else { return nil }
            return SignalFinding(
                rater: rater, p: min(1, best.p * Double(max(1, tested))),
                numbers: ["token": Double(best.token), "disagree": Double(best.disagree), "n": Double(best.n)],
                detail: "disagrees with the consensus on \(best.disagree) of \(best.n) prompts containing \(context.token(best.token))")
        }
    }
}
