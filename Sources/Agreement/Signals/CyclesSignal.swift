/// Intransitive cycles among a rater's own choices on one prompt (A over B, B over
/// C, C over A), out of the triples they judged fully; a 25% null.
struct CyclesSignal: RaterSignal {
    let name = "cycles"
    let usesConsensus = false
    let finding = RaterFinding.unreliable

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        (0..<context.raters).compactMap { rater in
            var edges: [Int: [(winner: Int, loser: Int)]] = [:]
            for index in context.byRater[rater] {
                let judgement = context.firsts[index]
                guard judgement.category < 2, let responses = context.units[judgement.unit].responses else { continue }
                let (winner, loser) = judgement.category == 0 ? (responses.a, responses.b) : (responses.b, responses.a)
                edges[responses.prompt, default: []].append((winner, loser))
            }
            var triads = 0, cycles = 0
            for (_, list) in edges where list.count >= 3 {
                var beats = Set<Int64>()
                var nodes = Set<Int>()
                for edge in list {
                    beats.insert(Int64(edge.winner) << 32 | Int64(edge.loser))
                    nodes.insert(edge.winner)
                    nodes.insert(edge.loser)
                }
                let ordered = nodes.sorted()
                func wins(_ x: Int, _ y: Int) -> Bool { beats.contains(Int64(x) << 32 | Int64(y)) }
                func judged(_ x: Int, _ y: Int) -> Bool { wins(x, y) || wins(y, x) }
                for i in 0..<ordered.count {
                    for j in (i + 1)..<ordered.count where judged(ordered[i], ordered[j]) {
                        for k in (j + 1)..<ordered.count where judged(ordered[i], ordered[k]) && judged(ordered[j], ordered[k]) {
                            triads += 1
                            let (a, b, c) = (ordered[i], ordered[j], ordered[k])
                            if (wins(a, b) && wins(b, c) && wins(c, a)) || (wins(b, a) && wins(c, b) && wins(a, c)) { cycles += 1 }
                        }
                    }
                }
            }
            guard triads >= 3 else { return nil }
            return SignalFinding(
                rater: rater, p: Statistics.binomialUpper(cycles, triads, 0.25),
                numbers: ["cycles": Double(cycles), "triads": Double(triads)],
                detail: "\(cycles) intransitive cycles among \(triads) fully judged triples of responses to one prompt")
        }
    }
}
