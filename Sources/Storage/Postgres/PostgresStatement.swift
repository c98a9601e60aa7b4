import CLibPQ
import Glibc

/// A statement prepared on one ``PostgresDatabase`` (by name), with its bound
/// values. Numbers and text go as text parameters; blobs as binary (`bytea`).
public final class PostgresStatement: PreparedStatement {
    unowned let database: PostgresDatabase
    let name: String
    public let sql: String
    let parameters: Int
    private var values: [SQLValue] = []

    init(database: PostgresDatabase, name: String, sql: String, parameters: Int) {
        self.database = database
        self.name = name
        self.sql = sql
        self.parameters = parameters
    }

    public func bind(_ values: [SQLValue]) throws {
        guard values.count == parameters else {
            throw PostgresError(sqlState: "", message: "\(values.count) values for \(parameters) parameters", sql: sql)
        }
        self.values = values
    }

    /// Executes with the bound values; the caller clears the result.
    private func execute() throws -> OpaquePointer {
        database.counter?.add()
        // Each parameter's bytes live in one buffer until the call returns.
        var buffers: [[CChar]?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        for value in values {
            switch value {
            case .null:
                buffers.append(nil)
                lengths.append(0)
                formats.append(0)
            case .int(let int):
                buffers.append(Array(String(int).utf8CString))
                lengths.append(0)
                formats.append(0)
            case .double(let double):
                buffers.append(Array(Self.text(double).utf8CString))
                lengths.append(0)
                formats.append(0)
            case .text(let text):
                buffers.append(Array(text.utf8CString))
                lengths.append(0)
                formats.append(0)
            case .blob(let bytes):
                buffers.append(bytes.map { CChar(bitPattern: $0) })
                lengths.append(Int32(bytes.count))
                formats.append(1)
            }
        }
        let result: OpaquePointer? = withPointers(buffers) { pointers in
            clibpq_exec_prepared(database.handle, name, Int32(values.count), pointers, lengths, formats, 0)
        }
        do {
            try database.check(result, sql: sql)
        } catch {
            if let result { clibpq_clear(result) }
            throw error
        }
        return result!
    }

    /// Shortest text that reads back as the same double.
    static func text(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
        return "\(value)"
    }

    @discardableResult
    public func run() throws -> Int {
        let result = try execute()
        defer { clibpq_clear(result) }
        return Int(String(cString: clibpq_cmd_tuples(result))) ?? 0
    }

    public func rows<T>(_ transform: (any Row) throws -> T) throws -> [T] {
        let result = try execute()
        defer { clibpq_clear(result) }
        var rows: [T] = []
        let count = clibpq_ntuples(result)
        rows.reserveCapacity(Int(count))
        for index in 0..<count { rows.append(try transform(PostgresRow(result: result, row: index))) }
        return rows
    }

    public func forEach(_ body: (any Row) throws -> Void) throws {
        let result = try execute()
        defer { clibpq_clear(result) }
        for index in 0..<clibpq_ntuples(result) { try body(PostgresRow(result: result, row: index)) }
    }

    public func first<T>(_ transform: (any Row) throws -> T) throws -> T? {
        let result = try execute()
        defer { clibpq_clear(result) }
        guard clibpq_ntuples(result) > 0 else { return nil }
        return try transform(PostgresRow(result: result, row: 0))
    }
}

/// Pointers to each buffer (nil for NULL), valid inside `body`.
private func withPointers<R>(_ buffers: [[CChar]?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafePointer<CChar>?] = []
    func nest(_ index: Int) -> R {
        guard index < buffers.count else { return body(pointers) }
        guard let buffer = buffers[index] else {
            pointers.append(nil)
            return nest(index + 1)
        }
        return buffer.withUnsafeBufferPointer { pointer in
            pointers.append(pointer.baseAddress)
            return nest(index + 1)
        }
    }
    return nest(0)
}

/// One row of a text-format result. Booleans read `t`/`f`; `bytea` arrives as `\x…` hex.
struct PostgresRow: Row {
    let result: OpaquePointer
    let row: Int32

    func isNull(_ index: Int32) -> Bool { clibpq_getisnull(result, row, index) != 0 }

    private func text(_ index: Int32) -> UnsafePointer<CChar> { clibpq_getvalue(result, row, index) }

    func int(_ index: Int32) -> Int { Int(int64(index)) }

    func int64(_ index: Int32) -> Int64 {
        let value = text(index)
        if value.pointee == 0x74 { return 1 }  // "t"
        if value.pointee == 0x66 { return 0 }  // "f"
        return strtoll(value, nil, 10)
    }

    func double(_ index: Int32) -> Double { strtod(text(index), nil) }

    func bool(_ index: Int32) -> Bool { int64(index) != 0 }

    func string(_ index: Int32) -> String {
        let count = Int(clibpq_getlength(result, row, index))
        return text(index).withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
    }

    func blob(_ index: Int32) -> [UInt8] {
        let count = Int(clibpq_getlength(result, row, index))
        let bytes = text(index).withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
        guard bytes.count >= 2, bytes[0] == 0x5C, bytes[1] == 0x78 else { return bytes }  // "\x"
        func nibble(_ byte: UInt8) -> UInt8 { byte <= 0x39 ? byte - 0x30 : (byte | 0x20) - 0x61 + 10 }
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count - 2) / 2)
        var index = 2
        while index + 1 < bytes.count {
            out.append(nibble(bytes[index]) << 4 | nibble(bytes[index + 1]))
            index += 2
        }
        return out
    }

    func value(_ index: Int32) -> SQLValue {
        guard !isNull(index) else { return .null }
        switch clibpq_ftype(result, index) {
        case 16, 20, 21, 23: return .int(int64(index))  // bool, int8, int2, int4
        case 700, 701, 1700: return .double(double(index))  // float4, float8, numeric
        case 17: return .blob(blob(index))  // bytea
        default: return .text(string(index))
        }
    }
}
