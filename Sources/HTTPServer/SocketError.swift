import Glibc

/// A failed system call, with the errno it left and `strerror`'s text.
public enum SocketError: Error, Equatable, CustomStringConvertible {
    /// `call` failed with `errno`.
    case failed(call: String, errno: Int32)
    /// The configuration cannot be served (bad host, bad port).
    case invalidAddress(String)

    public var description: String {
        switch self {
        case let .failed(call, code):
            return "\(call) failed: \(String(cString: strerror(code))) (errno \(code))"
        case let .invalidAddress(text):
            return "invalid address: \(text)"
        }
    }
}
