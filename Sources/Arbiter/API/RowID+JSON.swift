public import JSON

extension RowID {
    /// The id in a JSON answer (a number).
    public var json: JSONValue { .int(value) }
}
