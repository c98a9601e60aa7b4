/// An error that becomes an HTTP response. Every such error renders the same JSON
/// shape: `{"error":{"code":"...","message":"..."}}`.
public protocol HTTPResponseError: Error {
    /// The response status (4xx or 5xx).
    var status: HTTPStatus { get }
    /// A stable machine-readable code, e.g. `not_found`.
    var code: String { get }
    /// A short human-readable message. Never contains secrets or stack traces.
    var message: String { get }
    /// Extra headers (e.g. `Allow`, `Retry-After`).
    var headers: HTTPHeaders { get }
}

extension HTTPResponseError {
    public var headers: HTTPHeaders { HTTPHeaders() }

    /// The JSON body of this error: `{"error":{"code","message"}}`.
    public static func body(code: String, message: String) -> String {
        #"{"error":{"code":""# + JSONText.escape(code) + #"","message":""# + JSONText.escape(message) + #""}}"#
    }
}

/// The general-purpose HTTP error.
///
/// ```swift
/// throw HTTPError(.notFound, code: "not_found", message: "no such project")
/// ```
public struct HTTPError: HTTPResponseError, Equatable, CustomStringConvertible {
    public let status: HTTPStatus
    public let code: String
    public let message: String
    public var headers: HTTPHeaders { extraHeaders }
    private var extraHeaders: HTTPHeaders

    /// Creates an error with a status, a code and a message.
    public init(_ status: HTTPStatus, code: String, message: String, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.code = code
        self.message = message
        self.extraHeaders = headers
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public static func == (lhs: HTTPError, rhs: HTTPError) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code && lhs.message == rhs.message
    }
}

/// Minimal JSON string escaping (RFC 8259 §7) for the server's own messages.
public enum JSONText {
    /// Escapes `text` for use inside a JSON string literal.
    public static func escape(_ text: String) -> String {
        var needs = false
        for byte in text.utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            needs = true
            break
        }
        guard needs else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
