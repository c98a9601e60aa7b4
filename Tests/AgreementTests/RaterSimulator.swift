import Agreement

/// The seeded crowd the rater-quality tests have always used: the classic family
/// of ``CrowdSimulator`` (honest raters of 5–30% noise and every kind of attacker,
/// ~60 judgements per rater, 5 per pair).
typealias RaterSimulator = CrowdSimulator

extension CrowdSimulator {
    init(seed: UInt64) { self.init(family: .classic, seed: seed) }
}
