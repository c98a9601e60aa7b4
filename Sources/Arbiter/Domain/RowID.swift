/// The id of one kind of row, in the database's own representation (a 64-bit
/// integer): one kind's id cannot be passed where another's is expected, and no
/// code converts between `Int` and `Int64` on the way. The store binds it
/// (`id.sql`, in `Store/RowID+Storage.swift`); the API renders it (`id.json`, in
/// `API/RowID+JSON.swift`).
public struct RowID<Record>: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public let value: Int64

    public init(_ value: Int64) { self.value = value }
    public init(integerLiteral value: Int64) { self.value = value }

    public var description: String { String(value) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}

/// Marker types naming what a ``RowID`` identifies.
public enum BattleRecord {}

/// An arena battle's id (`battles.id`).
public typealias BattleID = RowID<BattleRecord>
