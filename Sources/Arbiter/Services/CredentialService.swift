import Storage

/// Who a request comes from: an API token's user, or a browser session (its
/// activity written at most once a minute). The authenticator caches the answers.
struct CredentialService: Sendable {
    let store: ArbiterStore

    /// The live, enabled user of an API token, or nil.
    func user(forToken token: String) async throws -> User? {
        try await store.pool.read { db in try Users.authenticate(db, token: token) }
    }

    /// The live session of a cookie, or nil.
    func session(forToken token: String, now: Int64) async throws -> Session? {
        try await store.pool.read { db in try Sessions.find(db, token: token, now: now) }
    }

    /// Records that a session was used now.
    func touch(sessionID: Int, now: Int64) async throws {
        try await store.pool.write { db in try Sessions.touch(db, sessionID: sessionID, now: now) }
    }
}

/// What `/readyz` and `/metrics` ask the database.
struct HealthService: Sendable {
    let store: ArbiterStore

    /// Whether the database answers a trivial read.
    func databaseAnswers() async throws -> Bool {
        try await store.pool.read { db in try HealthChecks.answers(db) }
    }

    /// Leases live now, across the cluster.
    func liveLeases(now: Int64) async throws -> Int {
        try await store.pool.read { db in try HealthChecks.liveLeases(db, now: now) }
    }
}
