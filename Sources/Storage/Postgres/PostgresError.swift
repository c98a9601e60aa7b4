/// A failed libpq call: PostgreSQL's SQLSTATE and message, and the SQL text —
/// never the bound values (annotation text and secrets stay out of logs).
public struct PostgresError: DatabaseError, CustomStringConvertible, Sendable {
    /// The five-character SQLSTATE (`23505` unique violation, `40001` serialization
    /// failure, …); empty when the failure was the connection's, not a statement's.
    public let sqlState: String
    public let message: String
    public let sql: String?

    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// `disk_full` (class 53, insufficient resources).
    public var isStorageFull: Bool { sqlState == "53100" }

    /// A transaction that may succeed if run again: a serialization failure or a deadlock.
    public var isRetryable: Bool { sqlState == "40001" || sqlState == "40P01" }

    public var description: String {
        var text = "PostgreSQL error\(sqlState.isEmpty ? "" : " \(sqlState)"): \(message)"
        if let sql { text += " — in \(sql.prefix(200))" }
        return text
    }
}

/// The database server cannot be reached right now (it is restarting, failing
/// over, or the network broke): whatever was being done was not committed, and
/// the same request may succeed once it is back. HTTP answers 503.
public struct DatabaseUnavailable: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { "the database is unavailable: \(message)" }
}
