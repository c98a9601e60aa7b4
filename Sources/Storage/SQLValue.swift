/// A value bound to a statement parameter.
public enum SQLValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByNilLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral
{
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])

    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .int(value ? 1 : 0) }

    /// `.text` or `.null`.
    public init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    /// `.int` or `.null`.
    public init(_ value: Int?) { self = value.map { .int(Int64($0)) } ?? .null }
    /// `.int` or `.null`.
    public init(_ value: Int64?) { self = value.map { .int($0) } ?? .null }
    /// `.double` or `.null`.
    public init(_ value: Double?) { self = value.map { .double($0) } ?? .null }
    /// 1 / 0.
    public init(_ value: Bool) { self = .int(value ? 1 : 0) }
    /// `.blob`.
    public init(_ value: [UInt8]) { self = .blob(value) }
}
