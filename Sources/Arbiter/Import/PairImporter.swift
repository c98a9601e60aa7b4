public import Storage

/// Imports pair lines into a project inside one transaction: a refused import,
/// a dry run or a crash midway leaves the database exactly as it was. The command
/// line uses this; the server stages instead (``StagedPairImport``), so that a
/// large upload never holds the writer.
public enum PairImporter {
    /// Reads every line of `reader` into project `projectID` on `db`; `beforeCommit`
    /// runs inside the transaction just before it commits (the audit row).
    public static func run(
        _ db: any Database, projectID: Int, reader: inout JSONLReader, options: ImportOptions,
        beforeCommit: (ImportReport) throws -> Void = { _ in }
    ) throws -> ImportReport {
        guard let project = try Projects.find(db, id: projectID) else { throw ServiceError.noSuchProject }
        var options = options
        options.taskKind = project.settings.kind
        let parser = PairLineParser(limits: options.limits, pairsPerPrompt: options.pairsPerPrompt, taskKind: options.taskKind)
        let rows = try PairRows(db, projectID: projectID, importID: nil)
        return try ImportTransaction.run(db, reader: &reader, options: options, beforeCommit: beforeCommit) {
            line, number, writing, report in
            let pairs: [PairInput]
            do throws(ValidationError) {
                pairs = try parser.parse(line)
            } catch {
                report.record(line: number, error.message)
                return
            }
            guard writing else { return }
            try rows.insert(pairs, line: number, into: &report)
        }
    }
}
