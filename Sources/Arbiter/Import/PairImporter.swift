public import Storage

/// Imports pair lines into a project inside one transaction: a refused import,
/// a dry run or a crash midway leaves the database exactly as it was.
public enum PairImporter {
    /// Reads every line of `reader` into project `projectID` on `db`.
    public static func run(_ db: Database, projectID: Int, reader: inout JSONLReader, options: ImportOptions) throws -> ImportReport {
        let parser = PairLineParser(limits: options.limits, pairsPerPrompt: options.pairsPerPrompt)
        let insert = try db.statement(
            """
            INSERT INTO pairs (project_id, external_id, content_hash, prompt, prompt_is_messages, response_a, response_b,
                model_a, model_b, metadata, gold, wanted)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """)
        let existing = try db.statement("SELECT content_hash FROM pairs WHERE project_id = ? AND external_id = ?")
        let project = SQLValue.int(Int64(projectID))
        guard let settings = try ProjectRepository.find(db, id: projectID)?.settings else { throw ValidationError("no project \(projectID)") }
        let wanted = SQLValue.int(Int64(PairDemand.initial(settings)))
        return try ImportTransaction.run(db, reader: &reader, options: options) { line, number, writing, report in
            let pairs: [PairInput]
            do throws(ValidationError) {
                pairs = try parser.parse(line)
            } catch {
                report.record(line: number, error.message)
                return
            }
            guard writing else { return }
            for pair in pairs {
                let hash = pair.contentHash
                let externalID = pair.externalID ?? "sha256:" + Digest.hex(Array(hash.prefix(12)))
                try insert.bind([
                    project, .text(externalID), .blob(hash), .text(pair.prompt.storedText), SQLValue(pair.prompt.isMessages),
                    .text(pair.responseA), .text(pair.responseB), SQLValue(pair.modelA), SQLValue(pair.modelB),
                    SQLValue(pair.metadata.map { JSONValueText.text(of: $0) }), SQLValue(pair.gold?.rawValue), wanted,
                ])
                if try insert.run() == 1 {
                    report.imported += 1
                    continue
                }
                // Skipped: the same pair again is a duplicate; the same id with other content is an error.
                try existing.bind([project, .text(externalID)])
                if let stored = try existing.first({ $0.blob(0) }), stored != hash {
                    report.record(line: number, "id '\(externalID)' is already used by a different pair")
                } else {
                    report.duplicates += 1
                }
            }
        }
    }
}
