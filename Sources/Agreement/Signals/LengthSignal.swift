/// Surface bias: on the pairs where the rater and the consensus pick different
/// responses, how often the rater's pick is the longer one. An honest rater's
/// departures are blind to length (50%); a verbosity script's are not.
struct LengthSignal: RaterSignal {
    let name = "length"
    let usesConsensus = true

    func evaluate(_ context: RaterContext) -> [SignalFinding] {
        (0..<context.raters).compactMap { rater in
            var longer = 0, n = 0, allLonger = 0, allDecisive = 0
            for index in context.byRater[rater] {
                let judgement = context.firsts[index]
                let a = context.lengthA[judgement.unit]
                let b = context.lengthB[judgement.unit]
                guard judgement.category < 2, a != b else { continue }
                let pickedLonger = (judgement.category == 0) == (a > b)
                allDecisive += 1
                if pickedLonger { allLonger += 1 }
                guard let label = context.consensus[index], label < 2, label != judgement.category else { continue }
                n += 1
                if pickedLonger { longer += 1 }
            }
            guard n >= 5 else { return nil }
            return SignalFinding(
                rater: rater, p: Statistics.binomialUpper(longer, n, 0.5 + context.options.rateMargin),
                numbers: [
                    "longer_when_departing": Double(longer) / Double(n), "departures": Double(n),
                    "longer_rate": allDecisive > 0 ? Double(allLonger) / Double(allDecisive) : .nan,
                ],
                detail: "picked the longer response on \(longer) of the \(n) pairs where they went against the consensus")
        }
    }
}
