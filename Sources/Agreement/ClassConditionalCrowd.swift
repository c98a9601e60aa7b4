import Glibc

/// Which response is better, as the crowd's A/B choices say once each rater is
/// weighed by how well they tell the two apart — a two-coin Dawid & Skene (1979)
/// model: rater `r` picks A with probability `pickA[r]` when A is better and B with
/// probability `pickB[r]` when B is better.
///
/// Class-conditional rates are what real crowds need: a worker who answers "A"
/// almost always is right on every pair whose answer is A and tells nothing; a
/// one-coin accuracy (or a raw vote count) would read them as a fair rater, and a
/// crowd with many of them would lean the wrong way on exactly the pairs where the
/// good raters disagree with it.
///
/// > E-step: log-odds(A) of a pair = log(π/(1 − π)) + Σ over its A/B choices of the
/// > choice's push: log(pickA / (1 − pickB)) for A, log((1 − pickA) / pickB) for B.
/// > M-step: pickA[r] = Σ_{r picked A} P(A) / Σ_{r judged} P(A), likewise B; π = mean P(A).
///
/// A judgement's *leave-one-out* log-odds (its pair's log-odds without its own
/// push) is what the other raters say about the pair; a rater's accuracy on the
/// pairs the others settle (``decisive``) is the evidence behind the `unreliable`
/// finding (``ReliabilitySignal``). Raters a pass excludes push nothing.
public struct ClassConditionalCrowd: Sendable {
    /// Per rater: P(picks A | A is better) and P(picks B | B is better).
    public var pickA: [Double]
    public var pickB: [Double]
    /// The share of pairs whose better response is A.
    public var priorA: Double
    /// Per unit: the log-odds that A is the better response, from every counted A/B choice.
    public var unitLogOdds: [Double]
    /// Per first judgement: its own push on its unit's log-odds (0 for ties, "both
    /// bad" and excluded raters).
    public var push: [Double]
    /// Per rater, over their A/B choices on pairs the others settle (leave-one-out
    /// posterior of one side ≥ ``decisiveThreshold``): how many, and how many of them
    /// (in expectation over that posterior) they got right.
    public var decisive: [(right: Double, pairs: Int)]

    /// A pair is settled by the others when their posterior for one side reaches this.
    public static let decisiveThreshold = 0.9
    static let iterations = 50

    init(_ context: RaterContext) {
        let raters = context.raters
        let firsts = context.firsts
        var pickA = [Double](repeating: 0.7, count: raters)
        var pickB = [Double](repeating: 0.7, count: raters)
        // Start from the counted raw votes.
        var probabilityA = context.unitCounts.map { counts in (Double(counts[0]) + 0.5) / (Double(counts[0] + counts[1]) + 1) }
        var priorA = 0.5
        var push = [Double](repeating: 0, count: firsts.count)
        var unitLogOdds = [Double](repeating: 0, count: context.units.count)
        let counted = firsts.map { $0.category < 2 && !context.excluded.contains($0.rater) }
        for _ in 0..<Self.iterations {
            // M-step (Beta(1, 1) smoothing, kept away from 0 and 1 so no vote is infinite).
            var rightA = [Double](repeating: 1, count: raters), seenA = [Double](repeating: 2, count: raters)
            var rightB = [Double](repeating: 1, count: raters), seenB = [Double](repeating: 2, count: raters)
            for judgement in firsts where judgement.category < 2 {
                let p = probabilityA[judgement.unit]
                seenA[judgement.rater] += p
                seenB[judgement.rater] += 1 - p
                if judgement.category == 0 { rightA[judgement.rater] += p } else { rightB[judgement.rater] += 1 - p }
            }
            for rater in 0..<raters {
                pickA[rater] = min(0.99, max(0.01, rightA[rater] / seenA[rater]))
                pickB[rater] = min(0.99, max(0.01, rightB[rater] / seenB[rater]))
            }
            let judged = probabilityA.indices.filter { context.unitCounts[$0][0] + context.unitCounts[$0][1] > 0 }
            priorA = judged.isEmpty ? 0.5 : min(0.99, max(0.01, judged.map { probabilityA[$0] }.reduce(0, +) / Double(judged.count)))
            // E-step.
            let base = log(priorA / (1 - priorA))
            for unit in unitLogOdds.indices { unitLogOdds[unit] = base }
            for (index, judgement) in firsts.enumerated() {
                guard counted[index] else {
                    push[index] = 0
                    continue
                }
                let (a, b) = (pickA[judgement.rater], pickB[judgement.rater])
                push[index] = judgement.category == 0 ? log(a / (1 - b)) : log((1 - a) / b)
                unitLogOdds[judgement.unit] += push[index]
            }
            var change = 0.0
            for unit in probabilityA.indices {
                let p = CrowdModel.sigmoid(unitLogOdds[unit])
                change = max(change, abs(p - probabilityA[unit]))
                probabilityA[unit] = p
            }
            if change < 1e-6 { break }
        }
        var decisive = Array(repeating: (right: 0.0, pairs: 0), count: raters)
        for (index, judgement) in firsts.enumerated() where judgement.category < 2 {
            // Only pairs some other counted rater chose A or B on.
            let others = context.unitCounts[judgement.unit][0] + context.unitCounts[judgement.unit][1] - (counted[index] ? 1 : 0)
            guard others > 0 else { continue }
            let p = CrowdModel.sigmoid(unitLogOdds[judgement.unit] - push[index])
            guard max(p, 1 - p) >= Self.decisiveThreshold else { continue }
            decisive[judgement.rater].pairs += 1
            decisive[judgement.rater].right += judgement.category == 0 ? p : 1 - p
        }
        self.pickA = pickA
        self.pickB = pickB
        self.priorA = priorA
        self.unitLogOdds = unitLogOdds
        self.push = push
        self.decisive = decisive
    }

    /// What the other raters say about judgement `index`'s pair: the log-odds that A
    /// is better without its own push (and without `also`'s, for two raters at once).
    public func othersLogOdds(_ index: Int, unit: Int, also: Int? = nil) -> Double {
        unitLogOdds[unit] - push[index] - (also.map { push[$0] } ?? 0)
    }
}
