import HTTPServer
import Storage
import Synchronization

/// Who is asking: `Authorization: Bearer <token>` (the accounts issue adds
/// session cookies). Deny by default: every API route names the roles it allows.
///
/// Successful look-ups are cached for a few seconds, keyed by the token's SHA-256
/// (never the token), so the annotation loop does not pay a database read per
/// request; a revoked token or disabled user stops working within `cacheTTL`.
struct Authenticator: Sendable {
    let store: ArbiterStore
    let cache = TokenCache()
    static let cacheTTL: Int64 = 5_000

    final class TokenCache: Sendable {
        let entries = Mutex<[[UInt8]: (user: User, expires: Int64)]>([:])

        func user(for hash: [UInt8], now: Int64) -> User? {
            entries.withLock { entries in
                guard let entry = entries[hash] else { return nil }
                if entry.expires > now { return entry.user }
                entries[hash] = nil
                return nil
            }
        }

        func remember(_ user: User, for hash: [UInt8], now: Int64) {
            entries.withLock { entries in
                if entries.count > 10_000 { entries.removeAll(keepingCapacity: true) }
                entries[hash] = (user, now + Authenticator.cacheTTL)
            }
        }
    }

    /// The caller, or 401.
    func user(_ request: Request) async throws -> User {
        guard let header = request.headers["authorization"] else { throw APIError.unauthenticated }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.unauthenticated }
        let token = String(parts[1])
        let hash = Digest.sha256(token)
        let now = Clock.nowMilliseconds()
        if let cached = cache.user(for: hash, now: now) { return cached }
        guard let user = try await store.pool.read({ db in try UserRepository.authenticate(db, token: token) }) else {
            throw APIError.unauthenticated
        }
        cache.remember(user, for: hash, now: now)
        return user
    }

    /// The caller if their role is one of `roles`, else 401/403.
    func require(_ request: Request, _ roles: Set<Role>) async throws -> User {
        let user = try await user(request)
        guard roles.contains(user.role) else { throw APIError.forbidden }
        return user
    }
}
