import CSQLite

/// A failed SQLite call: result code, extended code, SQLite's message and the SQL
/// text — never the bound values (annotation text and secrets stay out of logs).
public struct SQLiteError: DatabaseError, CustomStringConvertible, Sendable {
    /// The primary result code (`SQLITE_CONSTRAINT`, ...).
    public let resultCode: Int32
    /// The extended result code (`SQLITE_CONSTRAINT_UNIQUE`, ...).
    public let extendedCode: Int32
    /// SQLite's message.
    public let message: String
    /// The statement, if any.
    public let sql: String?

    public init(resultCode: Int32, extendedCode: Int32, message: String, sql: String?) {
        self.resultCode = resultCode
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

    init(connection: OpaquePointer?, code: Int32, sql: String?) {
        let extended = connection.map { sqlite3_extended_errcode($0) } ?? code
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
        self.init(resultCode: extended & 0xFF, extendedCode: extended, message: message, sql: sql)
    }

    /// A UNIQUE or PRIMARY KEY constraint failed.
    public var isUniqueViolation: Bool {
        extendedCode == CSQLITE_CONSTRAINT_UNIQUE || extendedCode == CSQLITE_CONSTRAINT_PRIMARYKEY
    }

    /// The disk (or the file's size limit) is full: `SQLITE_FULL`, which the unix
    /// VFS also reports for a write that failed with `ENOSPC`.
    public var isStorageFull: Bool { resultCode == SQLITE_FULL }

    public var description: String {
        var text = "SQLite error \(resultCode) (extended \(extendedCode)): \(message)"
        if let sql { text += " — in \(sql.prefix(200))" }
        return text
    }
}
