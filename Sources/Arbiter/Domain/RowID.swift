public import JSON
public import Storage

/// The id of one kind of row, in the database's own representation (a 64-bit
/// integer): a pair's id cannot be passed where a battle's is expected, and no
/// code converts between `Int` and `Int64` on the way.
///
/// ```swift
/// let battle: BattleID = 17
/// try db.run("UPDATE battles SET state = 'void' WHERE id = ?", [battle.sql])
/// ```
public struct RowID<Record>: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public let value: Int64

    public init(_ value: Int64) { self.value = value }
    public init(integerLiteral value: Int64) { self.value = value }

    public var description: String { String(value) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }

    /// The id as a statement parameter.
    public var sql: SQLValue { .int(value) }
    /// The id in a JSON answer (a number).
    public var json: JSONValue { .int(value) }
}

/// Marker types naming what a ``RowID`` identifies.
public enum BattleRecord {}

/// An arena battle's id (`battles.id`).
public typealias BattleID = RowID<BattleRecord>

extension Row {
    /// Column `index` as an id.
    func id<Record>(_ index: Int32, of: Record.Type = Record.self) -> RowID<Record> { RowID(int64(index)) }
}

extension SQLValue {
    /// An optional id: the id, or NULL.
    init<Record>(_ id: RowID<Record>?) { self = id.map(\.sql) ?? .null }
}

extension JSONValue {
    /// An optional id: the number, or null.
    init<Record>(_ id: RowID<Record>?) { self = id.map(\.json) ?? .null }
}
