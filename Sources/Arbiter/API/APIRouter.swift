import COpenSSL
import HTTPServer
import Storage
import Synchronization

/// Who may call a route.
enum Access: Sendable, Equatable {
    /// No credentials needed (health, login, accepting an invite).
    case anyone
    /// A signed-in user with one of these roles.
    case roles(Set<Role>)

    static let everyone = Access.roles(Set(Role.allCases))
    static let admin = Access.roles([.admin])
    static let annotating = Access.roles([.annotator, .admin])
    static let reviewing = Access.roles([.reviewer, .admin])
}

/// One API route and who may call it: the table the access tests walk.
struct RouteSpec: Sendable {
    let method: HTTPMethod
    let pattern: String
    let access: Access
}

/// Registers API routes, each with the roles it allows; authentication and
/// authorisation run before the handler, so a handler cannot forget them.
struct APIRouter {
    var router: Router
    let auth: Authenticator
    /// Turns "storage full" failures into 503s (and counts and logs them once).
    let storage: StorageFullMonitor
    private(set) var specs: [RouteSpec] = []

    init(router: Router, auth: Authenticator, storage: StorageFullMonitor) {
        self.router = router
        self.auth = auth
        self.storage = storage
    }

    /// A route for signed-in callers with one of `access`'s roles.
    mutating func add(
        _ method: HTTPMethod, _ pattern: String, _ access: Access, maxBodyBytes: Int? = nil,
        _ handler: @escaping @Sendable (Request, Caller) async throws -> Response
    ) {
        precondition(access != .anyone, "use addPublic for \(pattern)")
        specs.append(RouteSpec(method: method, pattern: pattern, access: access))
        let (auth, storage) = (self.auth, self.storage)
        guard case .roles(let roles) = access else { return }
        // The caller is checked on the head, before a body that has not arrived
        // yet is read (`Admission`); the handler reuses that answer.
        let study = Self.studyRoutes.contains("\(method.rawValue) \(pattern)")
        let admission: Admission = { request in
            do { return try Self.scoped(try await auth.require(request, roles), request, allowed: study) } catch {
                throw storage.map(error)
            }
        }
        router.add(method, pattern, maxBodyBytes: maxBodyBytes, admission: admission) { request in
            do {
                if let caller = request.admission as? Caller { return try await handler(request, caller) }
                return try await handler(request, try Self.scoped(try await auth.require(request, roles), request, allowed: study))
            } catch {
                throw storage.map(error)
            }
        }
    }

    /// What a study participant's session may call (deny by default): their own
    /// account, their study's status, and the annotation loop of the study's project.
    static let studyRoutes: Set<String> = [
        "GET /api/me", "POST /api/logout", "GET /api/study", "GET /api/projects/{id}", "GET /api/projects/{id}/next",
        "GET /api/projects/{id}/progress", "POST /api/assignments/{id}/annotation", "PUT /api/assignments/{id}/annotation",
        "POST /api/assignments/{id}/skip", "POST /api/assignments/{id}/report",
    ]

    /// The caller, unless a study session asks for what its study does not grant (403).
    static func scoped(_ caller: Caller, _ request: Request, allowed: Bool) throws -> Caller {
        guard let study = caller.session?.study else { return caller }
        guard allowed else { throw APIError.studyScope }
        if request.path.hasPrefix("/api/projects/"), (try? request.parameters.int("id")) != study.projectID { throw APIError.studyScope }
        return caller
    }

    /// The body limit of routes anyone may call (sign-in, accepting a link).
    static let publicMaxBodyBytes = 64 * 1024

    /// A route anyone may call.
    mutating func addPublic(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping @Sendable (Request) async throws -> Response) {
        specs.append(RouteSpec(method: method, pattern: pattern, access: .anyone))
        let storage = self.storage
        router.add(method, pattern, maxBodyBytes: Self.publicMaxBodyBytes) { request in
            do { return try await handler(request) } catch { throw storage.map(error) }
        }
    }
}
