import HTTPServer
import Storage

/// Who is asking: `Authorization: Bearer <token>` (the accounts issue adds
/// session cookies). Deny by default: every API route names the roles it allows.
struct Authenticator: Sendable {
    let store: ArbiterStore

    /// The caller, or 401.
    func user(_ request: Request) async throws -> User {
        guard let header = request.headers["authorization"] else { throw APIError.unauthenticated }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.unauthenticated }
        let token = String(parts[1])
        guard let user = try await store.pool.read({ db in try UserRepository.authenticate(db, token: token) }) else {
            throw APIError.unauthenticated
        }
        return user
    }

    /// The caller if their role is one of `roles`, else 401/403.
    func require(_ request: Request, _ roles: Set<Role>) async throws -> User {
        let user = try await user(request)
        guard roles.contains(user.role) else { throw APIError.forbidden }
        return user
    }
}
