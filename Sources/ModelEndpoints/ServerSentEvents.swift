/// An incremental parser of server-sent events (the WHATWG `text/event-stream`
/// format): `data:` lines accumulate (joined by line feeds) until a blank line
/// dispatches the event; `event:` names it; lines starting with `:` are comments;
/// lines end in LF, CRLF or CR. An event over `maxEventBytes` is an error, so a
/// misbehaving endpoint cannot grow memory without bound.
public struct ServerSentEvents: Sendable {
    public struct Event: Sendable, Equatable {
        public var type: String
        public var data: String
    }

    public struct TooLarge: Error, Sendable {}

    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var type = ""
    private var skipLineFeed = false
    private let maxEventBytes: Int

    public init(maxEventBytes: Int = 1 << 20) { self.maxEventBytes = maxEventBytes }

    /// Feeds bytes; returns the events they complete.
    public mutating func feed(_ bytes: [UInt8]) throws(TooLarge) -> [Event] {
        var events: [Event] = []
        for byte in bytes {
            if skipLineFeed {
                skipLineFeed = false
                if byte == 0x0A { continue }
            }
            if byte == 0x0A || byte == 0x0D {
                skipLineFeed = byte == 0x0D
                if let event = endLine() { events.append(event) }
                continue
            }
            line.append(byte)
            if line.count + data.count > maxEventBytes { throw TooLarge() }
        }
        return events
    }

    private mutating func endLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer {
                data.removeAll(keepingCapacity: true)
                hasData = false
                type = ""
            }
            guard hasData else { return nil }
            return Event(type: type.isEmpty ? "message" : type, data: String(decoding: data, as: UTF8.self))
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = String(decoding: line[..<colon], as: UTF8.self)
        var value = colon < line.endIndex ? Array(line[(colon + 1)...]) : []
        if value.first == UInt8(ascii: " ") { value.removeFirst() }
        switch field {
        case "data":
            if hasData { data.append(0x0A) }
            data += value
            hasData = true
        case "event":
            type = String(decoding: value, as: UTF8.self)
        default:
            break  // id, retry and unknown fields: not needed here
        }
        return nil
    }
}
