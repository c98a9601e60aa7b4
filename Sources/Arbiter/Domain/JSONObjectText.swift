import JSON

/// A JSON object already serialised, for audit details.
public struct JSONObjectText: Sendable {
    public let text: String
    public init(_ pairs: KeyValuePairs<String, String> = [:]) {
        var out = "{"
        for (index, pair) in pairs.enumerated() {
            if index > 0 { out += "," }
            out += "\"" + JSONEscape.escape(pair.key) + "\":\"" + JSONEscape.escape(pair.value) + "\""
        }
        text = out + "}"
    }
}

enum JSONEscape {
    static func escape(_ text: String) -> String {
        var bytes: [UInt8] = []
        JSONValue.writeString(text, to: &bytes)
        return String(decoding: bytes.dropFirst().dropLast(), as: UTF8.self)
    }
}
