/// What a webhook can be told. The raw values are the `type` of the delivered
/// event and the names admins subscribe with.
public enum WebhookEventType: String, CaseIterable, Sendable, Comparable {
    /// New judgements, batched (up to ``WebhookDispatcher/Configuration/judgementsPerEvent`` each).
    case judgementCreated = "judgement.created"
    /// A pair has all the judgements its project wants (said once per pair).
    case pairCompleted = "pair.completed"
    /// No pair of the project wants more judgements (said again after new pairs complete).
    case projectCompleted = "project.completed"
    /// An export job (with its reward model) finished, or failed.
    case exportReady = "export.ready"
    /// The detector flagged a rater (or changed its finding).
    case raterFlagged = "rater.flagged"
    /// A reviewer or admin quarantined a rater.
    case raterQuarantined = "rater.quarantined"
    /// A pair or annotation import committed.
    case importFinished = "import.finished"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Parses a subscription list: names, or `*` for every event; nil for `*`.
    public static func parse(_ names: [String]) throws(ValidationError) -> Set<WebhookEventType>? {
        if names == ["*"] { return nil }
        guard !names.isEmpty else { throw ValidationError("events: name at least one, or \"*\" for all") }
        var result: Set<WebhookEventType> = []
        for name in names {
            guard let type = WebhookEventType(rawValue: name) else {
                throw ValidationError("events: unknown event \(name) (expected \(allCases.map(\.rawValue).joined(separator: ", ")) or *)")
            }
            result.insert(type)
        }
        return result
    }
}
