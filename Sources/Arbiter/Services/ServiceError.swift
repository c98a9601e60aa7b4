/// What a service refuses for reasons other than bad input (that is a
/// ``ValidationError``). Each door turns it into its own shape: the API into a
/// 404/409/503 with a JSON message, the command line into one line on stderr.
public enum ServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The thing asked for does not exist (`"no such project"`); `code` is machine-readable.
    case notFound(String, code: String = "not_found")
    /// The request clashes with the current state; `code` is machine-readable.
    case conflict(code: String, message: String)
    /// The server could not do it for a reason of its own (a file vanished, a
    /// disk is full); nothing was changed.
    case unavailable(String)
    /// Too many failed attempts (sign-ins, one-time links); try again after this many milliseconds.
    case tooManyAttempts(retryAfter: Int64, message: String)
    /// A sign-in with a wrong username or password (never which of the two).
    case invalidCredentials

    public var description: String {
        switch self {
        case .notFound(let message, _), .unavailable(let message): return message
        case .conflict(_, let message), .tooManyAttempts(_, let message): return message
        case .invalidCredentials: return "wrong username or password"
        }
    }

    /// The usual "no such project".
    public static let noSuchProject = ServiceError.notFound("no such project")
}
