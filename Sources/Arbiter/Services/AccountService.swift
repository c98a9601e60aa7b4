import Threads
public import Storage

/// People and access: signing in and out, accounts, invites, password resets and
/// the audit log. Every change is audited here; the routes add only what is HTTP
/// (cookies, same-site checks), the command line only what is a terminal.
public struct AccountService: Sendable {
    let store: ArbiterStore
    /// scrypt runs here, never on a loop or the writer.
    let hashing: ThreadPool
    let now: @Sendable () -> Int64

    /// A new session: the user, the cookie token (shown once, stored hashed) and the session.
    public struct SignedIn: Sendable {
        public var user: User
        public var token: String
        public var session: Session
        /// A new known-device cookie token for this browser (see ``KnownDevices``),
        /// or nil when the browser already had a live one.
        public var deviceToken: String?
    }

    // MARK: Sessions

    /// Checks a password and starts a session. The attempt is counted before the
    /// password is checked (one write), so at most the throttle's limit of
    /// concurrent guesses ever reach scrypt; the same scrypt time is spent whether
    /// or not the user exists. `deviceToken` is the browser's `arbiter_device`
    /// cookie, if any: a live device of this username is throttled on its own
    /// (see ``LoginThrottle``).
    public func signIn(username: String, password: String, address: String, deviceToken: String? = nil) async throws -> SignedIn {
        guard !username.isEmpty, username.utf8.count <= 64 else {
            throw ValidationError("username: expected a string of 1 to 64 characters")
        }
        guard password.utf8.count <= Password.maximumLength else { throw ValidationError("password: expected a string") }
        let now = self.now()
        let (verdict, device) = try await store.pool.write { db -> (LoginThrottle.Verdict, String?) in
            let device = try deviceToken.flatMap { try KnownDevices.key(db, token: $0, username: username, now: now) }
            let verdict = try LoginThrottle.reserve(db, username: username, address: address, device: device, now: now)
            if case .throttled = verdict { try LoginThrottle.auditThrottled(db, username: username, address: address, now: now) }
            return (verdict, device)
        }
        guard case .allowed(let reservation) = verdict else {
            let wait: Int64 = if case .throttled(let retryAfter) = verdict { retryAfter } else { LoginThrottle.window }
            throw ServiceError.tooManyAttempts(retryAfter: wait, message: "too many failed sign-ins; try again later")
        }
        let credentials = try await store.pool.read { db in try Users.credentials(db, username: username) }
        let stored = credentials?.hash ?? Password.decoy
        let matches = try await hashing.run { Password.verify(password, against: stored) }
        guard let credentials, credentials.hash != nil, matches, credentials.user.canLogIn, !credentials.user.disabled else {
            try await store.pool.write { db in
                try AuditLog.record(db, actor: credentials?.user.id, action: "login_failed", target: username, address: address, now: now)
            }
            throw ServiceError.invalidCredentials
        }
        let user = credentials.user
        return try await store.pool.write { db in
            try LoginThrottle.release(db, reservation: reservation)
            let (token, session) = try Sessions.create(db, userID: user.id, address: address, now: now)
            try AuditLog.record(db, actor: user.id, action: "login", target: user.username, address: address, now: now)
            var newDevice: String?
            if device != nil, let deviceToken {
                try KnownDevices.touch(db, token: deviceToken, now: now)
            } else {
                newDevice = try KnownDevices.remember(db, userID: user.id, now: now)
            }
            return SignedIn(user: user, token: token, session: session, deviceToken: newDevice)
        }
    }

    /// Ends a session.
    public func signOut(session: Session, address: String) async throws {
        let now = self.now()
        try await store.pool.write { db in
            try Sessions.delete(db, sessionID: session.id)
            try AuditLog.record(db, actor: session.user.id, action: "logout", target: session.user.username, address: address, now: now)
        }
    }

    // MARK: People

    /// Everyone, with when they were last seen and how much they judged.
    public func users() async throws -> [UserSummary] {
        try await store.pool.read { db in try Users.list(db) }
    }

    /// Changes a person's role or disables them; their sessions end. Nobody can
    /// demote or disable themselves.
    public func updateUser(id: Int, role: Role?, disabled: Bool?, actor: User, address: String) async throws -> User {
        guard id != actor.id || (role == nil || role == .admin) && disabled != true else {
            throw ValidationError("you cannot demote or disable yourself")
        }
        let now = self.now()
        return try await store.pool.write { db -> User in
            guard let before = try Users.find(db, id: id) else { throw ServiceError.notFound("no such user") }
            try Users.update(db, userID: id, role: role, disabled: disabled)
            if let role, role != before.role {
                try Sessions.deleteAll(db, userID: id)
                try AuditLog.record(
                    db, actor: actor.id, action: "role_change", target: before.username,
                    details: JSONObjectText(["from": before.role.rawValue, "to": role.rawValue]), address: address, now: now)
            }
            if let disabled, disabled != before.disabled {
                if disabled { try Sessions.deleteAll(db, userID: id) }
                try AuditLog.record(
                    db, actor: actor.id, action: disabled ? "user_disabled" : "user_enabled", target: before.username,
                    address: address, now: now)
            }
            return try Users.find(db, id: id) ?? before
        }
    }

    /// Adds a person (from the command line; the web adds people by invite), audited.
    public static func addUser(
        _ db: any Database, username: String, role: Role, passwordHash: String?, actor: Int?, via: String, now: Int64
    ) throws -> User {
        let user = try Users.add(db, username: username, role: role)
        if let passwordHash { try Users.setPasswordHash(db, userID: user.id, hash: passwordHash) }
        try AuditLog.record(
            db, actor: actor, action: "user_added", target: username, details: JSONObjectText(["role": role.rawValue, "via": via]), now: now
        )
        return user
    }

    // MARK: Invites

    /// An invite for `role`; the token goes in `/invite/<token>` and is shown once.
    public func createInvite(role: Role, lifetime: Int64, actor: Int, address: String) async throws -> (token: String, invite: Invite) {
        let now = self.now()
        return try await store.pool.write { db in
            let created = try Invites.create(db, role: role, createdBy: actor, lifetime: lifetime, now: now)
            try AuditLog.record(
                db, actor: actor, action: "invite_created", target: "invite:\(created.invite.id)",
                details: JSONObjectText(["role": role.rawValue]), address: address, now: now)
            return created
        }
    }

    /// Every invite, used or not.
    public func invites() async throws -> [Invite] {
        try await store.pool.read { db in try Invites.list(db) }
    }

    /// Revokes an unused invite.
    public func revokeInvite(id: Int, actor: Int, address: String) async throws {
        let now = self.now()
        try await store.pool.write { db in
            guard try Invites.revoke(db, id: id, now: now) else { throw ServiceError.notFound("no unused invite with this id") }
            try AuditLog.record(db, actor: actor, action: "invite_revoked", target: "invite:\(id)", address: address, now: now)
        }
    }

    /// Creates the invited account and signs it in. Throttled per address, and the
    /// token checked, before any scrypt time is spent.
    /// Whether an invite link can still be used, so the page can say so before the
    /// person fills in the form. A link that cannot counts as a failed attempt
    /// against the address, as at sign-up, so checking is no faster way to guess.
    public func checkInvite(token: String, address: String) async throws -> Bool {
        let now = self.now()
        let reservation = try await reserveLinkAttempt(address: address, now: now)
        let usable = try await store.pool.read { db in try Invites.isUsable(db, token: token, now: now) }
        if usable { try await store.pool.write { db in try LoginThrottle.release(db, reservation: reservation) } }
        return usable
    }

    public func acceptInvite(token: String, username: String, password: String, address: String) async throws -> SignedIn {
        try Users.validateUsername(username)
        try Password.validate(password)
        let now = self.now()
        let reservation = try await reserveLinkAttempt(address: address, now: now)
        guard try await store.pool.read({ db in try Invites.isUsable(db, token: token, now: now) }) else { throw Invites.invalid }
        let hash = try await hashing.run { try Password.hash(password) }
        return try await store.pool.write { db in
            let user = try Invites.accept(db, token: token, username: username, passwordHash: hash, now: now)
            try LoginThrottle.release(db, reservation: reservation)
            let (cookie, session) = try Sessions.create(db, userID: user.id, address: address, now: now)
            try AuditLog.record(
                db, actor: user.id, action: "invite_accepted", target: username,
                details: JSONObjectText(["role": user.role.rawValue]), address: address, now: now)
            return SignedIn(user: user, token: cookie, session: session)
        }
    }

    // MARK: Password resets

    /// A reset link for a person (shown once); earlier unused links stop working.
    public func createPasswordReset(
        userID: Int, lifetime: Int64, actor: Int, address: String
    ) async throws
        -> (token: String, reset: PasswordResets.Reset, user: User)
    {
        let now = self.now()
        return try await store.pool.write { db in
            guard let user = try Users.find(db, id: userID) else { throw ServiceError.notFound("no such user") }
            guard !user.disabled else { throw ValidationError("user '\(user.username)' is disabled; enable them first") }
            let (token, reset) = try PasswordResets.create(db, userID: user.id, createdBy: actor, lifetime: lifetime, now: now)
            try AuditLog.record(db, actor: actor, action: "password_reset_created", target: user.username, address: address, now: now)
            return (token, reset, user)
        }
    }

    /// Sets the password of a reset link's person and signs them in; every other
    /// session of theirs ends.
    public func acceptPasswordReset(token: String, password: String, address: String) async throws -> SignedIn {
        try Password.validate(password)
        let now = self.now()
        let reservation = try await reserveLinkAttempt(address: address, now: now)
        guard try await store.pool.read({ db in try PasswordResets.user(db, token: token, now: now) }) != nil else {
            throw PasswordResets.invalid
        }
        let hash = try await hashing.run { try Password.hash(password) }
        return try await store.pool.write { db in
            let user = try PasswordResets.use(db, token: token, now: now)
            try LoginThrottle.release(db, reservation: reservation)
            try PasswordChange.apply(db, user: user, hash: hash, actor: user.id, via: "reset_link", address: address, now: now)
            let (cookie, session) = try Sessions.create(db, userID: user.id, address: address, now: now)
            try AuditLog.record(db, actor: user.id, action: "login", target: user.username, address: address, now: now)
            return SignedIn(user: user, token: cookie, session: session)
        }
    }

    /// Counts a one-time-link attempt from `address` (too many: ``ServiceError/tooManyAttempts(retryAfter:message:)``).
    func reserveLinkAttempt(address: String, now: Int64) async throws -> Int64 {
        let verdict = try await store.pool.write { db in try LoginThrottle.reserveLinkAttempt(db, address: address, now: now) }
        switch verdict {
        case .allowed(let reservation): return reservation
        case .throttled(let wait):
            throw ServiceError.tooManyAttempts(retryAfter: wait, message: "too many failed attempts; try again later")
        }
    }

    // MARK: Audit

    /// The newest `limit` audit entries before entry `before`.
    public func auditLog(limit: Int, before: Int?) async throws -> [AuditEntry] {
        guard (1...1000).contains(limit) else { throw ValidationError("limit: 1 to 1000") }
        if let before, before <= 0 { throw ValidationError("before: a positive entry id") }
        return try await store.pool.read { db in try AuditLog.list(db, limit: limit, before: before) }
    }
}
