/// A canonical judgement, relative to the stored pair (not to the screen).
public enum Choice: String, Sendable, CaseIterable {
    case a = "A"
    case b = "B"
    case tie
    case bothBad = "both_bad"

    /// The choice as the annotator saw it: `left`, `right`, `tie`, `both_bad`.
    public enum Shown: String, Sendable, CaseIterable {
        case left, right, tie
        case bothBad = "both_bad"
    }

    /// Maps what the annotator clicked to the canonical choice. With
    /// `shownSwapped`, response B was on the left.
    public init(shown: Shown, shownSwapped: Bool) {
        switch shown {
        case .left: self = shownSwapped ? .b : .a
        case .right: self = shownSwapped ? .a : .b
        case .tie: self = .tie
        case .bothBad: self = .bothBad
        }
    }

    /// The signed preference: A with strength s → −s, B → +s, tie → 0,
    /// both_bad → nil (no preference). Missing strength counts as 1.
    public func signedPreference(strength: Int?) -> Int? {
        switch self {
        case .a: return -(strength ?? 1)
        case .b: return strength ?? 1
        case .tie: return 0
        case .bothBad: return nil
        }
    }

    /// The category index the agreement and rater-quality code counts in:
    /// A 0, B 1, tie 2, both bad 3 (the order of `allCases`).
    public var category: Int {
        switch self {
        case .a: return 0
        case .b: return 1
        case .tie: return 2
        case .bothBad: return 3
        }
    }

    /// A stored choice's category; an unknown one counts as a tie (no preference).
    public static func category(stored text: String) -> Int { Choice(rawValue: text)?.category ?? Choice.tie.category }

    /// Whether this choice prefers one response.
    public var isDecisive: Bool { self == .a || self == .b }
}

/// What a user may do.
public enum Role: String, Sendable, CaseIterable, Comparable {
    case annotator, reviewer, admin

    public static func < (lhs: Role, rhs: Role) -> Bool {
        let order: [Role] = [.annotator, .reviewer, .admin]
        return order.firstIndex(of: lhs)! < order.firstIndex(of: rhs)!
    }
}

/// How an assignment came to be.
public enum AssignmentKind: String, Sendable {
    case normal, gold, `repeat`
}

/// Where a lease is: on an annotator's screen, judged, run out, or given back.
public enum AssignmentState: String, Sendable {
    case leased, completed, expired, skipped
}
