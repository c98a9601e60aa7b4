import COpenSSL
import HTTPServer
import Storage
import Synchronization

/// The authenticated caller of an API route.
public struct Caller: Sendable {
    public let user: User
    /// The browser session, or nil when the caller used a Bearer token.
    public let session: Session?
}

/// Who is asking: `Authorization: Bearer <token>`, or the `arbiter_session` cookie
/// (whose state-changing requests must carry `X-CSRF-Token`). Deny by default:
/// every API route names the roles it allows (see ``APIRouter``).
///
/// Successful look-ups are cached for a few seconds, keyed by the SHA-256 of the
/// credential (never the credential), so the annotation loop does not pay a
/// database read per request. Logout, role changes and disabling drop the cache
/// entries at once; a token revoked from the command line stops working within
/// `cacheTTL`.
struct Authenticator: Sendable {
    let store: ArbiterStore
    let now: @Sendable () -> Int64
    let cache = CredentialCache()
    /// Last-used times of API tokens, written off the request path.
    let usage: TokenUsage
    static let cacheTTL: Int64 = 5_000
    /// Session activity is written at most this often.
    static let touchInterval: Int64 = 60_000

    final class CredentialCache: Sendable {
        struct Entry {
            var caller: Caller
            var expires: Int64
        }
        let entries = Mutex<[[UInt8]: Entry]>([:])

        func lookup(_ hash: [UInt8], now: Int64) -> Caller? {
            entries.withLock { entries in
                guard let entry = entries[hash] else { return nil }
                if entry.expires > now { return entry.caller }
                entries[hash] = nil
                return nil
            }
        }

        func remember(_ caller: Caller, for hash: [UInt8], now: Int64) {
            entries.withLock { entries in
                if entries.count > 10_000 { entries.removeAll(keepingCapacity: true) }
                entries[hash] = Entry(caller: caller, expires: now + Authenticator.cacheTTL)
            }
        }

        func forget(_ hash: [UInt8]) { _ = entries.withLock { $0.removeValue(forKey: hash) } }

        func forget(userID: Int) {
            entries.withLock { entries in
                for (key, entry) in entries where entry.caller.user.id == userID { entries[key] = nil }
            }
        }
    }

    /// The caller, or 401 (and 403 for a cookie request without its CSRF token).
    func caller(_ request: Request) async throws -> Caller {
        if let header = request.headers["authorization"] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.unauthenticated }
            return try await bearer(String(parts[1]))
        }
        guard let token = Self.cookie(Sessions.cookieName, in: request) else { throw APIError.unauthenticated }
        let caller = try await session(token)
        if !Self.isSafe(request.method) {
            guard let sent = request.headers["x-csrf-token"], let session = caller.session,
                Self.constantTimeEqual(sent, session.csrfToken)
            else { throw APIError.csrf }
        }
        return caller
    }

    /// The caller if their role is one of `roles`, else 401/403.
    func require(_ request: Request, _ roles: Set<Role>) async throws -> Caller {
        let caller = try await caller(request)
        guard roles.contains(caller.user.role) else { throw APIError.forbidden }
        return caller
    }

    private func bearer(_ token: String) async throws -> Caller {
        let hash = Digest.sha256(token)
        let now = self.now()
        if let cached = cache.lookup(hash, now: now) {
            usage.note(tokenHash: hash, userID: cached.user.id, now: now)
            return cached
        }
        guard let user = try await CredentialService(store: store).user(forToken: token) else {
            throw APIError.unauthenticated
        }
        let caller = Caller(user: user, session: nil)
        cache.remember(caller, for: hash, now: now)
        usage.note(tokenHash: hash, userID: user.id, now: now)
        return caller
    }

    private func session(_ token: String) async throws -> Caller {
        let hash = Digest.sha256(token)
        let now = self.now()
        if let cached = cache.lookup(hash, now: now), let session = cached.session,
            now - session.lastSeenAt < Self.touchInterval, session.expiresAt > now
        {
            return cached
        }
        let credentials = CredentialService(store: store)
        guard var session = try await credentials.session(forToken: token, now: now) else {
            cache.forget(hash)
            throw APIError.unauthenticated
        }
        if now - session.lastSeenAt >= Self.touchInterval {
            let id = session.id
            try await credentials.touch(sessionID: id, now: now)
            session.lastSeenAt = now
        }
        let caller = Caller(user: session.user, session: session)
        cache.remember(caller, for: hash, now: now)
        return caller
    }

    /// Drops a session's cache entry (logout).
    func forget(sessionToken: String) { cache.forget(Digest.sha256(sessionToken)) }

    /// Drops every cache entry of a user (role change, disabled).
    func forget(userID: Int) { cache.forget(userID: userID) }

    static func isSafe(_ method: HTTPMethod) -> Bool { method == .GET || method == .HEAD || method == .OPTIONS }

    /// The value of cookie `name` (RFC 6265 §5.4 `Cookie: a=b; c=d`).
    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers.values("cookie") {
            for part in header.split(separator: ";") {
                let pair = part.split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                if pair[0].trimmingSpaces() == name { return String(pair[1].trimmingSpaces()) }
            }
        }
        return nil
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count, !x.isEmpty else { return false }
        return x.withUnsafeBytes { p in y.withUnsafeBytes { q in CRYPTO_memcmp(p.baseAddress, q.baseAddress, x.count) == 0 } }
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var slice = self
        while slice.first == " " || slice.first == "\t" { slice = slice.dropFirst() }
        while slice.last == " " || slice.last == "\t" { slice = slice.dropLast() }
        return slice
    }
}
