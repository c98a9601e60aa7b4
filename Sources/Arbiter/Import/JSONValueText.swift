import JSON

/// Serialises JSON objects for TEXT columns.
enum JSONValueText {
    static func text(of object: JSONObject) -> String { JSONValue.object(object).jsonText }
}
