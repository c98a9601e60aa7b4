import JSON
public import Storage

/// Sign-in attempts per (username, address), per address and per username within a
/// window. An attempt is *reserved* — counted — in one write before the password is
/// checked, so however many arrive at once, at most `limits` of them reach scrypt;
/// a successful sign-in gives its reservation back, a failed one stays as the
/// failure. Past a limit, sign-ins are refused with 429 until the oldest counted
/// attempt leaves the window.
///
/// Someone failing on purpose must not lock the owner out. From a browser that
/// has signed in as that person before (a known device, see ``KnownDevices``),
/// attempts count only against that device (``Limits/perKnownDevice``): neither
/// the per-username limit nor the address's applies, so strangers failing from
/// any number of addresses cannot shut the owner out of their own browser. From
/// an unknown browser the three limits below apply, as OWASP advises against
/// distributed guessing (a new browser during such an attack waits out the
/// window, or signs in through a reset link an admin sends).
///
/// One-time links (invites, resets) are throttled per address only: never one
/// bucket that strangers could fill for everyone.
public enum LoginThrottle {
    /// How many failed attempts each key may have within ``window``.
    public struct Limits: Sendable {
        /// One username from one address.
        public var perUserAndAddress = 5
        /// One address, whatever the usernames (credential stuffing).
        public var perAddress = 20
        /// One username, from any address (a distributed guess), from browsers
        /// that never signed in as them.
        public var perUser = 100
        /// One known device (a browser that signed in as this person before).
        public var perKnownDevice = 10
        public init() {}
    }

    public static let window: Int64 = 15 * 60 * 1000
    public static let limits = Limits()

    public enum Verdict: Sendable, Equatable {
        /// Go ahead; give the reservation back with ``release`` if the password is right.
        case allowed(reservation: Int64)
        /// Refused; milliseconds until a sign-in may be tried again.
        case throttled(retryAfter: Int64)
    }

    /// Counts this attempt unless a limit is reached. Run it in one write.
    /// `device` is the throttle key of a known device of this username (from
    /// ``KnownDevices/key(_:token:username:now:)``), nil for an unknown browser.
    public static func reserve(
        _ db: any Database, username: String, address: String, device: String? = nil, now: Int64, limits: Limits = limits
    ) throws -> Verdict {
        let key = username.lowercased()
        if let device {
            // Counted as (username, device): the stranger's failures elsewhere do not count here.
            return try reserve(db, key: key, address: device, scopes: [(.userAndAddress, limits.perKnownDevice)], now: now)
        }
        return try reserve(
            db, key: key, address: address,
            scopes: [(.userAndAddress, limits.perUserAndAddress), (.address, limits.perAddress), (.user, limits.perUser)], now: now)
    }

    private static func reserve(
        _ db: any Database, key: String, address: String, scopes: [(LoginFailures.Scope, Int)], now: Int64
    ) throws -> Verdict {
        let since = now - window
        try RowLocks.signIn(db, username: key, address: address)
        var waits: [Int64] = []
        for (scope, limit) in scopes {
            // The oldest of the newest `limit` attempts: when it leaves the window, one more may try.
            let attempts = try LoginFailures.recent(db, scope, username: key, address: address, since: since, limit: limit)
            if attempts.count >= limit, let oldest = attempts.last { waits.append(oldest + window - now) }
        }
        if let wait = waits.max() { return .throttled(retryAfter: max(1000, wait)) }
        let reservation = try LoginFailures.add(db, username: key, address: address, at: now)
        try LoginFailures.forget(db, before: now - 2 * window)
        return .allowed(reservation: reservation)
    }

    /// The throttle key of one-time links (invites, password resets).
    public static let linkKey = "#one-time-link"

    /// Counts a one-time-link attempt from `address`, in one write: 5 failed links
    /// per address in the window (and the address's 20 in all). Never one bucket
    /// for every address: a stranger exhausts only their own address's attempts.
    public static func reserveLinkAttempt(_ db: any Database, address: String, now: Int64) throws -> Verdict {
        try reserve(
            db, key: linkKey, address: address,
            scopes: [(.userAndAddress, limits.perUserAndAddress), (.address, limits.perAddress)], now: now)
    }

    /// Gives a reservation back (the password was right).
    public static func release(_ db: any Database, reservation: Int64) throws {
        try LoginFailures.remove(db, id: reservation)
    }

    /// Audits a refused attempt without a row per attempt: the first in a window
    /// writes `login_throttled`, later ones count into its `attempts`.
    public static func auditThrottled(_ db: any Database, username: String, address: String, now: Int64) throws {
        let target = username.lowercased()
        try RowLocks.signIn(db, username: target, address: address)
        if let row = try AuditLog.latest(db, action: "login_throttled", target: target, address: address, since: now - window) {
            let attempts = ((try? JSONValue.parse(row.details))?["attempts"]?.stringValue.flatMap { Int($0) } ?? 1) + 1
            try AuditLog.replaceDetails(db, id: row.id, details: JSONObjectText(["attempts": "\(attempts)"]))
        } else {
            try AuditLog.record(
                db, actor: nil, action: "login_throttled", target: target, details: JSONObjectText(["attempts": "1"]),
                address: address, now: now)
        }
    }
}
