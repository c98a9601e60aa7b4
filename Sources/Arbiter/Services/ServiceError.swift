/// What a service refuses for reasons other than bad input (that is a
/// ``ValidationError``). Each door turns it into its own shape: the API into a
/// 404/409/503 with a JSON message, the command line into one line on stderr.
public enum ServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The thing asked for does not exist (`"no such project"`).
    case notFound(String)
    /// The request clashes with the current state; `code` is machine-readable.
    case conflict(code: String, message: String)
    /// The server could not do it for a reason of its own (a file vanished, a
    /// disk is full); nothing was changed.
    case unavailable(String)

    public var description: String {
        switch self {
        case .notFound(let message), .unavailable(let message): return message
        case .conflict(_, let message): return message
        }
    }

    /// The usual "no such project".
    public static let noSuchProject = ServiceError.notFound("no such project")
}
