import CLibPQ
import Glibc

/// One PostgreSQL connection through libpq (loaded at run time), a ``Database``
/// like ``SQLiteDatabase``: repositories run on it unchanged. Statements are
/// prepared once per connection (`PQprepare`) and run with parameters passed
/// apart from the SQL text (`PQexecPrepared`: text for numbers and strings,
/// binary for blobs) — never a value spliced into SQL. `?` and `?NNN` placeholders
/// are rewritten to `$n`. Not thread-safe: one thread at a time, like SQLite's.
///
/// ```swift
/// let db = try PostgresDatabase(url: "postgres://arbiter@127.0.0.1:5432/arbiter")
/// let id = try db.insert("INSERT INTO projects (name) VALUES (?)", [.text("demo")])
/// ```
public final class PostgresDatabase: Database {
    private let connection: OpaquePointer
    private var cache: [String: PostgresStatement] = [:]
    /// Counts this connection's statements (set by its pool).
    public var counter: StatementCounter?

    /// Connects to `url` (`postgres://user[:password]@host[:port]/dbname[?…]`).
    public init(url: String) throws {
        var reason = [CChar](repeating: 0, count: 256)
        guard clibpq_load(&reason, reason.count) == 0 else {
            throw PostgresError(
                sqlState: "", message: String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), sql: nil)
        }
        guard let connection = clibpq_connectdb(Self.withDefaults(url)) else {
            throw PostgresError(sqlState: "", message: "out of memory connecting", sql: nil)
        }
        guard clibpq_status(connection) == Int32(CLIBPQ_CONNECTION_OK) else {
            let message = String(cString: clibpq_error_message(connection)).trimmingNewlines()
            clibpq_finish(connection)
            throw PostgresError(sqlState: "", message: message, sql: nil)
        }
        self.connection = connection
        try configureSession()
    }

    /// Times and text as the schema expects them, whatever the server's defaults.
    private func configureSession() throws {
        // Notices ("… already exists, skipping") would go to stderr unasked.
        try execute("SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'; SET client_min_messages = warning")
    }

    /// Whether the connection is up (false once the server restarted or the network broke).
    public var isConnected: Bool { clibpq_status(connection) == Int32(CLIBPQ_CONNECTION_OK) }

    /// Reconnects a broken connection with the same parameters (statements are
    /// prepared again as they are used); throws ``DatabaseUnavailable`` while the
    /// server cannot be reached. A working connection is left alone.
    public func reconnectIfNeeded() throws {
        guard !isConnected else { return }
        cache.removeAll()
        clibpq_reset(connection)
        guard isConnected else {
            throw DatabaseUnavailable(message: String(cString: clibpq_error_message(connection)).trimmingNewlines())
        }
        try configureSession()
    }

    /// A URL without its own `connect_timeout` gets 5 s, so that reconnecting to an
    /// unreachable server fails instead of hanging a pool thread.
    static func withDefaults(_ url: String) -> String {
        guard !url.contains("connect_timeout=") else { return url }
        return url + (url.contains("?") ? "&" : "?") + "connect_timeout=5"
    }

    deinit {
        cache.removeAll()
        clibpq_finish(connection)
    }

    public var dialect: SQLDialect { .postgres }

    public var inTransaction: Bool { clibpq_transaction_status(connection) != Int32(CLIBPQ_PQTRANS_IDLE) }

    public func execute(_ sql: String) throws {
        counter?.add()
        let result = clibpq_exec(connection, sql)
        defer { clibpq_clear(result) }
        try check(result, sql: sql)
    }

    public func statement(_ sql: String) throws -> any PreparedStatement { try prepared(sql) }

    func prepared(_ sql: String) throws -> PostgresStatement {
        if let cached = cache[sql] { return cached }
        let (text, parameters) = Self.numberedPlaceholders(sql)
        let name = "s\(cache.count)"
        let result = clibpq_prepare(connection, name, text, Int32(parameters), nil)
        defer { clibpq_clear(result) }
        try check(result, sql: sql)
        let statement = PostgresStatement(database: self, name: name, sql: sql, parameters: parameters)
        cache[sql] = statement
        return statement
    }

    @discardableResult
    public func run(_ sql: String, _ values: [SQLValue]) throws -> Int {
        let statement = try prepared(sql)
        try statement.bind(values)
        return try statement.run()
    }

    public func query<T>(_ sql: String, _ values: [SQLValue], _ transform: (any Row) throws -> T) throws -> [T] {
        let statement = try prepared(sql)
        try statement.bind(values)
        return try statement.rows(transform)
    }

    public func queryFirst<T>(_ sql: String, _ values: [SQLValue], _ transform: (any Row) throws -> T) throws -> T? {
        let statement = try prepared(sql)
        try statement.bind(values)
        return try statement.first(transform)
    }

    /// Runs `body` in a transaction; a serialization failure or deadlock runs it
    /// again (up to ``maxAttempts`` times), since PostgreSQL asks for exactly that.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        var attempt = 1
        while true {
            do {
                return try wrapped(begin: "BEGIN", body)
            } catch let error as PostgresError where error.isRetryable && attempt < Self.maxAttempts {
                attempt += 1
            }
        }
    }

    /// Most runs of a transaction that keeps failing to serialize.
    public static let maxAttempts = 5

    /// One read-only snapshot (`REPEATABLE READ`): every query sees one moment.
    public func snapshot<T>(_ body: () throws -> T) throws -> T {
        guard !inTransaction else { return try body() }
        return try wrapped(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    public func savepoint<T>(_ name: String, _ body: () throws -> T) throws -> T {
        // Quoted: a name may be a keyword ("inner").
        let quoted = "\"" + name.replacingDoubleQuotes() + "\""
        try execute("SAVEPOINT \(quoted)")
        do {
            let result = try body()
            try execute("RELEASE SAVEPOINT \(quoted)")
            return result
        } catch {
            try? execute("ROLLBACK TO SAVEPOINT \(quoted)")
            try? execute("RELEASE SAVEPOINT \(quoted)")
            throw error
        }
    }

    private func wrapped<T>(begin: String, _ body: () throws -> T) throws -> T {
        try execute(begin)
        do {
            let result = try body()
            // A statement that failed inside (its error swallowed) aborted the
            // transaction; COMMIT would quietly roll it back. Say so instead.
            if clibpq_transaction_status(connection) == Int32(CLIBPQ_PQTRANS_INERROR) {
                throw PostgresError(
                    sqlState: "25P02", message: "a statement failed inside the transaction; nothing was committed", sql: nil)
            }
            try execute("COMMIT")
            return result
        } catch {
            if inTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Throws for a failed result (or none), with its SQLSTATE.
    func check(_ result: OpaquePointer?, sql: String) throws {
        guard let result else {
            let message = String(cString: clibpq_error_message(connection)).trimmingNewlines()
            if !isConnected { throw DatabaseUnavailable(message: message) }
            throw PostgresError(sqlState: "", message: message, sql: sql)
        }
        let status = clibpq_result_status(result)
        guard
            status == Int32(CLIBPQ_PGRES_COMMAND_OK) || status == Int32(CLIBPQ_PGRES_TUPLES_OK) || status == Int32(CLIBPQ_PGRES_EMPTY_QUERY)
        else {
            let state = clibpq_result_error_field(result, Int32(CLIBPQ_DIAG_SQLSTATE)).map { String(cString: $0) } ?? ""
            let message = (clibpq_result_error_message(result).map { String(cString: $0) } ?? "failed").trimmingNewlines()
            // The server went away (restart, failover, network): not the statement's fault.
            if !isConnected || state.hasPrefix("08") || state.hasPrefix("57P") { throw DatabaseUnavailable(message: message) }
            throw PostgresError(sqlState: state, message: message, sql: sql)
        }
    }

    var handle: OpaquePointer { connection }

    /// `?` → `$1, $2, …` in order and `?NNN` → `$NNN`, outside quotes and comments;
    /// returns the text and the number of parameters.
    static func numberedPlaceholders(_ sql: String) -> (String, Int) {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var next = 0, highest = 0
        var quote: Character?
        var characters = Array(sql)[...]
        while let character = characters.popFirst() {
            if let open = quote {
                out.append(character)
                if character == open { quote = nil }
                continue
            }
            switch character {
            case "'", "\"":
                quote = character
                out.append(character)
            case "-" where characters.first == "-":
                // A line comment: copy to the end of the line.
                out.append(character)
                while let rest = characters.popFirst() {
                    out.append(rest)
                    if rest == "\n" { break }
                }
            case "?":
                var digits = ""
                while let digit = characters.first, digit.isASCII, digit.isNumber {
                    digits.append(digit)
                    characters.removeFirst()
                }
                let number: Int
                if let explicit = Int(digits) {
                    number = explicit
                } else {
                    next += 1
                    number = next
                }
                highest = max(highest, number)
                out += "$\(number)"
            default:
                out.append(character)
            }
        }
        return (out, highest)
    }
}

extension String {
    /// libpq's messages on one line: "connection … failed: Connection refused; Is the server running …?".
    func trimmingNewlines() -> String {
        split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: " \t") }.filter { !$0.isEmpty }.joined(separator: "; ")
    }
}

extension String {
    func replacingDoubleQuotes() -> String { split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var text = self
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
