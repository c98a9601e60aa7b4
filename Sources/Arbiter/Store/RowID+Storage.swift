public import Storage

extension RowID {
    /// The id as a statement parameter.
    public var sql: SQLValue { .int(value) }
}

extension Row {
    /// Column `index` as an id.
    func id<Record>(_ index: Int32, of: Record.Type = Record.self) -> RowID<Record> { RowID(int64(index)) }
}
