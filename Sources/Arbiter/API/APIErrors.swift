import Threads
public import HTTPServer
import JSON
public import Storage

extension ValidationError: HTTPResponseError {
    public var status: HTTPStatus { .badRequest }
    public var code: String { "invalid" }
}

extension ServiceError: HTTPResponseError {
    public var status: HTTPStatus {
        switch self {
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .unavailable: return .serviceUnavailable
        case .tooManyAttempts: return .tooManyRequests
        case .invalidCredentials: return .unauthorized
        }
    }

    public var code: String {
        switch self {
        case .notFound(_, let code): return code
        case .conflict(let code, _): return code
        case .unavailable: return "unavailable"
        case .tooManyAttempts: return "too_many_attempts"
        case .invalidCredentials: return "invalid_credentials"
        }
    }

    public var message: String { description }

    public var headers: HTTPHeaders {
        guard case .tooManyAttempts(let wait, _) = self else { return HTTPHeaders() }
        return ["Retry-After": "\((wait + 999) / 1000)"]
    }
}

extension ImportRefused: HTTPResponseError {
    public var status: HTTPStatus { .unprocessableContent }
    public var code: String { "import_refused" }
    public var message: String { description }
}

extension PairReports.Refusal: HTTPResponseError {
    public var status: HTTPStatus { .conflict }
    public var code: String { "already_reported" }
    public var message: String { "you have already reported this pair; an admin will look at it" }
}

extension Annotations.Refusal: HTTPResponseError {
    public var status: HTTPStatus {
        switch self {
        case .noSuchAssignment: return .notFound
        case .notYours: return .forbidden
        case .expired, .notJudged, .tooLateToChange: return .conflict
        case .invalid: return .badRequest
        }
    }

    public var code: String {
        switch self {
        case .noSuchAssignment: return "not_found"
        case .notYours: return "forbidden"
        case .expired: return "lease_expired"
        case .invalid: return "invalid"
        case .notJudged: return "not_judged"
        case .tooLateToChange: return "too_late"
        }
    }

    public var message: String {
        switch self {
        case .noSuchAssignment: return "no such assignment"
        case .notYours: return "this assignment belongs to someone else"
        case .expired: return "this assignment's lease has expired; ask for the next pair"
        case .invalid(let error): return error.message
        case .notJudged: return "this assignment has no judgement to change yet"
        case .tooLateToChange: return "the time to change this judgement has passed"
        }
    }
}

/// Errors of the API layer.
enum APIError {
    static let unauthenticated = HTTPError(
        .unauthorized, code: "unauthenticated", message: "sign in or send Authorization: Bearer <token>",
        headers: ["WWW-Authenticate": "Bearer"])
    static let forbidden = HTTPError(.forbidden, code: "forbidden", message: "your role does not allow this")
    static let studyScope = HTTPError(.forbidden, code: "study_scope", message: "a study session reaches only its study's project")
    static let csrf = HTTPError(.forbidden, code: "csrf", message: "missing or wrong X-CSRF-Token header")

    static func invalidJSON(_ error: JSONError) -> HTTPError {
        HTTPError(.badRequest, code: "invalid_json", message: "invalid JSON: \(error)")
    }
}

extension Response {
    /// A JSON response from a value.
    static func json(_ value: JSONValue, status: HTTPStatus = .ok) -> Response {
        Response(status: status, contentType: "application/json", body: value.serialized())
    }
}

extension Request {
    /// Bodies up to this size are parsed where the handler runs (its event loop);
    /// larger ones on ``Workers/heavy``, so that no client stalls a loop with one.
    static let inlineJSONBytes = 64 * 1024

    /// The body as one JSON value (400 when it is not JSON), parsed off the event
    /// loop when it is large.
    func jsonBody() async throws -> JSONValue {
        let body = self.body
        guard body.count > Self.inlineJSONBytes else { return try Self.parse(body) }
        return try await Workers.heavy.run { try Self.parse(body) }
    }

    private static func parse(_ body: [UInt8]) throws -> JSONValue {
        do {
            return try JSONValue.parse(body)
        } catch {
            throw APIError.invalidJSON(error)
        }
    }
}

/// Threads for CPU-heavy request work (large JSON bodies, reward scoring), so that
/// it never runs on an event loop: `/healthz` and every other connection on that
/// loop keep being answered while it runs.
enum Workers {
    static let heavy = ThreadPool(name: "heavy", threads: 2)
    /// Parsing uploads: one thread, niced by ``ImportService`` (an upload takes spare CPU only).
    static let importing = ThreadPool(name: "import", threads: 1)
}

extension DatabaseUnavailable: HTTPResponseError {
    // The server's own message (host names, addresses) stays in the log.
    public var status: HTTPStatus { .serviceUnavailable }
    public var code: String { "database_unavailable" }
    public var message: String { "the database cannot be reached; nothing was changed by this request, try again shortly" }
    public var headers: HTTPHeaders { ["Retry-After": "1"] }
}

extension Assignments.Contended: HTTPResponseError {
    public var status: HTTPStatus { .serviceUnavailable }
    public var code: String { "busy" }
    public var message: String { "every pair offered was taken by someone else at the same moment; ask again" }
    public var headers: HTTPHeaders { ["Retry-After": "1"] }
}
