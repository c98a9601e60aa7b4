import CSQLite

/// A prepared SQLite statement. Owned by one ``SQLiteDatabase`` and used on its thread.
///
/// ```swift
/// let insert = try db.statement("INSERT INTO pairs(project_id, external_id) VALUES (?, ?)")
/// try insert.bind([.int(1), .text("p1")])
/// try insert.run()
/// ```
public final class SQLiteStatement: PreparedStatement {
    let handle: OpaquePointer
    unowned let database: SQLiteDatabase
    /// The SQL text.
    public let sql: String

    init(database: SQLiteDatabase, sql: String) throws(SQLiteError) {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else {
            throw SQLiteError(connection: database.handle, code: code, sql: sql)
        }
        self.handle = statement
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    /// Clears bindings and resets for reuse.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds `values` to parameters 1...n (after a reset).
    public func bind(_ values: [SQLValue]) throws(SQLiteError) {
        reset()
        for (offset, value) in values.enumerated() { try bind(value, at: Int32(offset + 1)) }
    }

    /// Binds one value to the 1-based parameter `index`.
    public func bind(_ value: SQLValue, at index: Int32) throws(SQLiteError) {
        let code: Int32
        switch value {
        case .null: code = sqlite3_bind_null(handle, index)
        case .int(let int): code = sqlite3_bind_int64(handle, index, int)
        case .double(let double): code = sqlite3_bind_double(handle, index, double)
        case .text(let text):
            var text = text
            code = text.withUTF8 { utf8 in
                guard let base = utf8.baseAddress, utf8.count > 0 else { return csqlite_bind_empty_text(handle, index) }
                return csqlite_bind_text(handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(utf8.count))
            }
        case .blob(let bytes):
            code = bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress, raw.count > 0 else { return sqlite3_bind_zeroblob(handle, index, 0) }
                return csqlite_bind_blob(handle, index, base, Int32(raw.count))
            }
        }
        guard code == SQLITE_OK else { throw SQLiteError(connection: database.handle, code: code, sql: sql) }
    }

    /// Steps once: true while there is a row.
    public func step() throws(SQLiteError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = SQLiteError(connection: database.handle, code: code, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Runs to completion; returns the number of changed rows.
    @discardableResult
    public func run() throws(SQLiteError) -> Int {
        database.counter?.add()
        while try step() {}
        sqlite3_reset(handle)
        return Int(sqlite3_changes(database.handle))
    }

    /// Maps every row.
    public func rows<T>(_ transform: (any Row) throws -> T) throws -> [T] {
        database.counter?.add()
        var result: [T] = []
        defer { sqlite3_reset(handle) }
        while try step() { result.append(try transform(SQLiteRow(statement: handle))) }
        return result
    }

    /// Calls `body` for every row, streaming (nothing is collected).
    public func forEach(_ body: (any Row) throws -> Void) throws {
        database.counter?.add()
        defer { sqlite3_reset(handle) }
        while try step() { try body(SQLiteRow(statement: handle)) }
    }

    /// The first row, mapped, or nil.
    public func first<T>(_ transform: (any Row) throws -> T) throws -> T? {
        database.counter?.add()
        defer { sqlite3_reset(handle) }
        guard try step() else { return nil }
        return try transform(SQLiteRow(statement: handle))
    }
}

/// The current row of a stepping SQLite statement. Valid only inside the closure it is
/// passed to.
public struct SQLiteRow: Row {
    let statement: OpaquePointer

    /// Whether column `index` is NULL.
    public func isNull(_ index: Int32) -> Bool { sqlite3_column_type(statement, index) == SQLITE_NULL }

    public func int(_ index: Int32) -> Int { Int(sqlite3_column_int64(statement, index)) }
    public func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(statement, index) }
    public func double(_ index: Int32) -> Double { sqlite3_column_double(statement, index) }
    public func bool(_ index: Int32) -> Bool { sqlite3_column_int64(statement, index) != 0 }

    public func string(_ index: Int32) -> String {
        guard let text = sqlite3_column_text(statement, index) else { return "" }
        let count = Int(sqlite3_column_bytes(statement, index))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    public func blob(_ index: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, index))
        guard count > 0, let bytes = sqlite3_column_blob(statement, index) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    public func value(_ index: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .int(int64(index))
        case SQLITE_FLOAT: return .double(double(index))
        case SQLITE_TEXT: return .text(string(index))
        case SQLITE_BLOB: return .blob(blob(index))
        default: return .null
        }
    }
}
