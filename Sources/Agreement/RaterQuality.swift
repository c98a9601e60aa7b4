import Dispatch
import Glibc

/// Rater quality and poisoning signals, on a ``CrowdModel`` fitted to the crowd at
/// hand. The model's signals (`consensus`, `trigger`, `content`) give a posterior
/// probability per rater (of being honest; of not using a planted target); the
/// tests give a one-sided p-value, adjusted per signal across raters with
/// Benjamini–Hochberg so that among flagged raters few are honest. A rater is
/// flagged when any of these passes 1%.
public enum RaterQuality {
    public struct Options: Sendable {
        /// Benjamini–Hochberg false discovery rate per signal.
        public var falseDiscoveryRate = 0.01
        /// A signal needs at least this many judgements from a rater.
        public var minimumJudgements = 10
        /// Slack above the crowd's rate for "more than the crowd" tests.
        public var rateMargin = 0.1
        public init() {}
    }

    /// Assesses every rater. Two passes: the second recomputes the consensus
    /// without the votes of raters the first pass flagged, so that attackers do
    /// not blur the yardstick the others are measured by.
    /// `tokenNames` names the prompt tokens of ``UnitFacts/tokens`` in explanations.
    public static func assess(
        _ judgements: [RatedJudgement], units: [UnitFacts], raters: Int, tokenNames: [Int: String] = [:], options: Options = Options()
    ) -> [RaterAssessment] {
        assessCrowd(judgements, units: units, raters: raters, tokenNames: tokenNames, options: options).raters
    }

    /// The crowd model behind the decisions, as the report shows it.
    public struct CrowdSummary: Sendable {
        /// Fitted share of honest raters.
        public var honestShare: Double
        /// Median of honest raters' sharpness and the spread of its log (``CrowdModel``).
        public var sharpnessMedian: Double
        public var sharpnessLogSpread: Double
        /// Honest raters' rate of ties and "both bad" where the others leaned.
        public var neutralRate: Double
        /// The flagged raters, and how many of them are expected to be honest: the
        /// sum over flagged raters of the probability (or the adjusted p-value, for
        /// a test) that decided each.
        public var flagged: Int
        public var expectedFalseFlags: Double
        /// Raters the model cannot judge yet (too few choices where the others leaned).
        public var notEnoughEvidence: Int
    }

    /// Every rater's assessment and the crowd model's summary.
    public static func assessCrowd(
        _ judgements: [RatedJudgement], units: [UnitFacts], raters: Int, tokenNames: [Int: String] = [:], options: Options = Options()
    ) -> (raters: [RaterAssessment], crowd: CrowdSummary) {
        // Dawid–Skene runs on another core while the signals are computed.
        let firsts = judgements.filter { !$0.isRepeat }.map { (unit: $0.unit, rater: $0.rater, label: $0.category) }
        let model = ResultBox<DawidSkene.Result>()
        let group = DispatchGroup()
        let unitCount = units.count
        DispatchQueue.global().async(group: group) {
            model.value = DawidSkene.estimate(firsts, units: unitCount, raters: raters, maxIterations: 30, tolerance: 1e-4)
        }
        let first = assessOnce(judgements, units: units, raters: raters, tokenNames: tokenNames, options: options, excluded: [], reuse: nil)
        let excluded = Set(first.assessments.filter(\.flagged).map(\.rater))
        // The second pass recomputes only what depends on the consensus.
        let final =
            excluded.isEmpty
            ? first
            : assessOnce(
                judgements, units: units, raters: raters, tokenNames: tokenNames, options: options, excluded: excluded,
                reuse: first.findings)
        var assessments = final.assessments
        let flagged = assessments.filter(\.flagged)
        let summary = CrowdSummary(
            honestShare: final.crowd.honestShare, sharpnessMedian: final.crowd.honestMedian,
            sharpnessLogSpread: final.crowd.honestLogSpread,
            neutralRate: final.crowd.honestNeutralRate, flagged: flagged.count,
            expectedFalseFlags: flagged.map(\.falseFlagProbability).reduce(0, +),
            notEnoughEvidence: assessments.filter { !$0.enoughEvidence && $0.judgements > 0 }.count)
        // Dawid–Skene: each rater's estimated accuracy and confusion matrix (numbers, not a flag).
        group.wait()
        guard let model = model.value else { return (assessments, summary) }
        for index in assessments.indices {
            var numbers: [String: Double] = ["accuracy": model.accuracy[index]]
            for truth in 0..<4 { numbers["p_correct_\(["A", "B", "tie", "both_bad"][truth])"] = model.confusion[index][truth * 4 + truth] }
            assessments[index].signals["dawid_skene"] = numbers
        }
        return (assessments, summary)
    }

    /// Carries a result from a worker thread; read only after the group is waited on.
    final class ResultBox<T>: @unchecked Sendable {
        // @unchecked Sendable: written once on the worker, read after DispatchGroup.wait().
        var value: T?
    }

    /// Every signal, in one list: adding one is a new ``RaterSignal`` type under
    /// `Signals/` and a line here.
    /// A flagged rater whose accuracy on settled pairs is above ½ with posterior
    /// probability ≥ 1 − this is not at chance (see the finding's rule below).
    static let aboveChanceLevel = 0.01

    public static let signals: [any RaterSignal] = [
        ConsensusSignal(), PositionSignal(), SpeedSignal(), NeutralOveruseSignal(), GoldSignal(), SelfConsistencySignal(),
        RewardModelSignal(), CyclesSignal(), CollusionSignal(), LengthSignal(), OutlierSignal(), TriggerSignal(), ContentSignal(),
        BelowChanceSignal(), ReliabilitySignal(),
    ]

    /// One pass: every signal on one shared context, then each signal's p-values
    /// corrected across raters and compared with the false discovery rate. With
    /// `reuse` (the first pass's findings), signals that do not read the consensus
    /// are not computed again.
    static func assessOnce(
        _ judgements: [RatedJudgement], units: [UnitFacts], raters: Int, tokenNames: [Int: String] = [:], options: Options,
        excluded: Set<Int>, reuse: [String: [SignalFinding]]?
    ) -> (assessments: [RaterAssessment], findings: [String: [SignalFinding]], crowd: CrowdModel) {
        let profile = getenv("ARBITER_PROFILE_SIGNALS") != nil
        func now() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_MONOTONIC, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        var start = now()
        let context = RaterContext(judgements, units: units, raters: raters, tokenNames: tokenNames, options: options, excluded: excluded)
        if profile { print("  context + crowd model: \(now() - start) s") }
        var findings: [String: [SignalFinding]] = [:]
        for signal in signals {
            start = now()
            if let kept = reuse?[signal.name], !signal.usesConsensus {
                findings[signal.name] = kept
            } else {
                findings[signal.name] = signal.evaluate(context)
            }
            if profile { print("  \(signal.name): \(now() - start) s") }
        }
        // Per signal: the p-values compared with the rate, by rater.
        var adjusted: [String: [Int: Double]] = [:]
        for signal in signals {
            let found = findings[signal.name] ?? []
            switch signal.correction {
            case .benjaminiHochberg:
                let corrected = Statistics.benjaminiHochberg(found.map(\.p))
                adjusted[signal.name] = Dictionary(uniqueKeysWithValues: zip(found.map(\.rater), corrected))
            case .selfAdjusted, .posterior:
                adjusted[signal.name] = Dictionary(uniqueKeysWithValues: found.map { ($0.rater, $0.p) })
            }
        }
        // Reasons in a stable order: corrected signals by name, then self-adjusted ones.
        let order =
            signals.filter { $0.correction == .posterior }.map(\.name).sorted()
            + signals.filter { $0.correction == .benjaminiHochberg }.map(\.name).sorted()
            + signals.filter { $0.correction == .selfAdjusted }.map(\.name).sorted()
        let corrections = Dictionary(uniqueKeysWithValues: signals.map { ($0.name, $0.correction) })
        let kinds = Dictionary(uniqueKeysWithValues: signals.map { ($0.name, $0.finding) })
        let aboutAccuracy = Set(signals.filter(\.aboutAccuracy).map(\.name))
        var byRater = Array(repeating: [String: SignalFinding](), count: raters)
        for (name, found) in findings {
            for finding in found { byRater[finding.rater][name] = finding }
        }
        let assessments = (0..<raters).map { rater in
            var reasons: [(signal: String, detail: String)] = []
            var numbers: [String: [String: Double]] = [:]
            // Suspicion: the probability of not being an honest rater under the crowd
            // model, raised to 1 − q by any test that flags (those are decisions at a
            // stated error rate, not probabilities, so only their verdicts count).
            var suspicion = 0.0
            var deciding = 1.0
            for name in order {
                guard let finding = byRater[rater][name], let q = adjusted[name]?[rater] else { continue }
                var values = finding.numbers
                switch corrections[name] {
                case .benjaminiHochberg: values["p"] = finding.p; values["adjusted_p"] = q
                case .selfAdjusted: values["adjusted_p"] = q
                case .posterior, nil: break
                }
                numbers[name] = values
                let flags = q < options.falseDiscoveryRate
                // A malicious signal's posterior is suspicion of an attack whether or
                // not it flags; an unreliable finding counts only once it flags (a
                // careful rater at 81% in a crowd of 90%s is not a suspect).
                if (corrections[name] == .posterior && kinds[name] == .malicious) || flags { suspicion = max(suspicion, 1 - q) }
                if flags {
                    reasons.append((name, finding.detail))
                    deciding = min(deciding, q)
                }
            }
            let honest = numbers["consensus"]?["honest_probability"]
            let enough = context.crowd.raters[rater].enoughEvidence
            // Malicious if a malicious signal says so — except that "not like this
            // crowd's honest raters" (consensus) alone is not malice when the rater is
            // clearly above chance on the pairs the others settle: that is a weak
            // honest rater, unreliable. Chance-level and inverting raters stay malicious.
            let malicious = reasons.filter { kinds[$0.signal] == .malicious }
            let settled = context.reliability.decisive[rater]
            let aboveChance =
                settled.pairs > 0
                && Statistics.betaCDF(0.5, settled.right + 1, Double(settled.pairs) - settled.right + 1) < Self.aboveChanceLevel
            let weakNotMalicious = aboveChance && malicious.allSatisfy { $0.signal == ConsensusSignal.signalName }
            let finding: RaterFinding? = reasons.isEmpty ? nil : !malicious.isEmpty && !weakNotMalicious ? .malicious : .unreliable
            return RaterAssessment(
                rater: rater, judgements: context.byRater[rater].count, flagged: !reasons.isEmpty,
                suspicion: max(0, min(1, suspicion)), reasons: reasons, signals: numbers,
                honestProbability: honest, enoughEvidence: !reasons.isEmpty || enough, falseFlagProbability: reasons.isEmpty ? 0 : deciding,
                finding: finding, flaggedOnAccuracy: !reasons.isEmpty && reasons.allSatisfy { aboutAccuracy.contains($0.signal) })
        }
        return (assessments, findings, context.crowd)
    }
}
