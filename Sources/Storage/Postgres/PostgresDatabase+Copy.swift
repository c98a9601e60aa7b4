import CLibPQ

extension PostgresDatabase {
    /// Streams rows into `table` with `COPY … FROM STDIN` in text format: one
    /// message per ~1 MiB of rows instead of a round trip per row (`arbiter db copy`).
    /// `rows` calls its argument once per row, values in `columns` order. Returns
    /// the rows the server stored. Row-level triggers fire as for inserts; disable
    /// them first where they only keep what the rows already carry. `freeze`
    /// writes the rows frozen (`FREEZE`: the table must have been created or
    /// truncated in this transaction).
    public func copyIn(
        table: String, columns: [String], freeze: Bool = false, rows: (_ send: ([SQLValue]) throws -> Void) throws -> Void
    ) throws -> Int {
        let sql =
            "COPY \(Self.quoted(table)) (\(columns.map(Self.quoted).joined(separator: ", "))) FROM STDIN" + (freeze ? " (FREEZE)" : "")
        counter?.add()
        let started = clibpq_exec(handle, sql)
        let status = started.map { clibpq_result_status($0) }
        guard status == Int32(CLIBPQ_PGRES_COPY_IN) else {
            defer { if let started { clibpq_clear(started) } }
            try check(started, sql: sql)
            throw PostgresError(sqlState: "", message: "COPY did not start", sql: sql)
        }
        clibpq_clear(started)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(Self.copyChunk + 64 * 1024)
        func flush() throws {
            guard !buffer.isEmpty else { return }
            let sent = buffer.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { clibpq_put_copy_data(handle, $0.baseAddress, Int32($0.count)) }
            }
            buffer.removeAll(keepingCapacity: true)
            guard sent == 1 else { throw DatabaseUnavailable(message: String(cString: clibpq_error_message(handle)).trimmingNewlines()) }
        }
        do {
            try rows { values in
                for (index, value) in values.enumerated() {
                    if index > 0 { buffer.append(9) }
                    Self.appendCopyText(value, to: &buffer)
                }
                buffer.append(10)
                if buffer.count >= Self.copyChunk { try flush() }
            }
            try flush()
        } catch {
            _ = clibpq_put_copy_end(handle, "the copy was abandoned")
            while let result = clibpq_get_result(handle) { clibpq_clear(result) }
            throw error
        }
        guard clibpq_put_copy_end(handle, nil) == 1 else {
            throw DatabaseUnavailable(message: String(cString: clibpq_error_message(handle)).trimmingNewlines())
        }
        var stored = 0
        var failure: (any Error)?
        while let result = clibpq_get_result(handle) {
            do {
                try check(result, sql: sql)
                stored += Int(String(cString: clibpq_cmd_tuples(result))) ?? 0
            } catch {
                failure = failure ?? error
            }
            clibpq_clear(result)
        }
        if let failure { throw failure }
        return stored
    }

    /// Bytes of rows sent per `PQputCopyData`.
    static let copyChunk = 1 << 20

    /// One value in COPY's text format: `\N` for NULL; backslash, tab, newline and
    /// carriage return escaped; bytes as `\\x` + hex (bytea's hex input, its
    /// backslash escaped).
    static func appendCopyText(_ value: SQLValue, to buffer: inout [UInt8]) {
        switch value {
        case .null:
            buffer.append(contentsOf: [92, 78])  // \N
        case .int(let int):
            buffer.append(contentsOf: String(int).utf8)
        case .double(let double):
            buffer.append(contentsOf: PostgresStatement.text(double).utf8)
        case .text(let text):
            for byte in text.utf8 {
                switch byte {
                case 92: buffer.append(contentsOf: [92, 92])
                case 9: buffer.append(contentsOf: [92, 116])
                case 10: buffer.append(contentsOf: [92, 110])
                case 13: buffer.append(contentsOf: [92, 114])
                default: buffer.append(byte)
                }
            }
        case .blob(let bytes):
            buffer.append(contentsOf: [92, 92, 120])  // \\x
            let digits: [UInt8] = Array("0123456789abcdef".utf8)
            for byte in bytes {
                buffer.append(digits[Int(byte >> 4)])
                buffer.append(digits[Int(byte & 0x0F)])
            }
        }
    }

    static func quoted(_ name: String) -> String {
        "\"" + name.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}
