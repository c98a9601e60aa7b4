public import Storage

/// Imports pair lines into a project inside one transaction: a refused import,
/// a dry run or a crash midway leaves the database exactly as it was. The command
/// line uses this; the server stages instead (``StagedPairImport``), so that a
/// large upload never holds the writer.
public enum PairImporter {
    /// Reads every line of `reader` into project `projectID` on `db`; `beforeCommit`
    /// runs inside the transaction just before it commits (the audit row).
    public static func run(
        _ db: any Database, projectID: Int, reader: inout JSONLReader, options: ImportOptions, beforeCommit: (ImportReport) throws -> Void = { _ in }
    ) throws -> ImportReport {
        let parser = PairLineParser(limits: options.limits, pairsPerPrompt: options.pairsPerPrompt)
        let rows = try PairRows(db, projectID: projectID, importID: nil)
        return try ImportTransaction.run(db, reader: &reader, options: options, beforeCommit: beforeCommit) { line, number, writing, report in
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

/// Writes parsed pairs into a project, telling duplicates (the same pair again)
/// from conflicts (the same id with other content). Every import writes through it.
struct PairRows {
    private let insert: any PreparedStatement
    private let existing: any PreparedStatement
    private let project: SQLValue
    private let wanted: SQLValue
    private let importID: SQLValue

    /// `importID` tags the rows of a staged import (nil: visible at once).
    init(_ db: any Database, projectID: Int, importID: Int64?) throws {
        insert = try db.statement(
            """
            INSERT INTO pairs (project_id, external_id, content_hash, prompt, prompt_is_messages, response_a, response_b,
                model_a, model_b, metadata, gold, wanted, import_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """)
        existing = try db.statement("SELECT content_hash FROM pairs WHERE project_id = ? AND external_id = ?")
        guard let settings = try ProjectRepository.find(db, id: projectID)?.settings else { throw ServiceError.noSuchProject }
        project = .int(Int64(projectID))
        wanted = .int(Int64(PairDemand.initial(settings)))
        self.importID = SQLValue(importID)
    }

    /// Inserts the pairs of line `line`, counting them in `report`.
    func insert(_ pairs: [PairInput], line: Int, into report: inout ImportReport) throws {
        for pair in pairs {
            let hash = pair.contentHash
            let externalID = pair.externalID ?? "sha256:" + Digest.hex(Array(hash.prefix(12)))
            try insert.bind([
                project, .text(externalID), .blob(hash), .text(pair.prompt.storedText), SQLValue(pair.prompt.isMessages),
                .text(pair.responseA), .text(pair.responseB), SQLValue(pair.modelA), SQLValue(pair.modelB),
                SQLValue(pair.metadata.map { JSONValueText.text(of: $0) }), SQLValue(pair.gold?.rawValue), wanted, importID,
            ])
            if try insert.run() == 1 {
                report.imported += 1
                continue
            }
            try existing.bind([project, .text(externalID)])
            if let stored = try existing.first({ $0.blob(0) }), stored != hash {
                report.record(line: line, "id '\(externalID)' is already used by a different pair")
            } else {
                report.duplicates += 1
            }
        }
    }
}
