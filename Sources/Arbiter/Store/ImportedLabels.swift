public import Storage
import JSON

/// Pairs of a project imported with a label (TRL or HH-RLHF lines keep the
/// source's choice in `metadata.source_chosen`), for the dataset audit.
public enum ImportedLabels {
    /// Every visible pair with an imported label, as the audit reads it; `line`
    /// carries the pair's id.
    public static func auditPairs(_ db: any Database, projectID: Int) throws -> [DatasetAudit.Pair] {
        let rows = try db.statement(
            "SELECT id, prompt, prompt_is_messages, response_a, response_b, metadata FROM visible_pairs WHERE project_id = ? AND metadata IS NOT NULL ORDER BY id")
        try rows.bind([.int(Int64(projectID))])
        var pairs: [DatasetAudit.Pair] = []
        try rows.forEach { row in
            guard let metadata = try? JSONValue.parse(row.string(5)), let side = metadata["source_chosen"]?.stringValue, side == "A" || side == "B" else { return }
            let prompt: String
            switch Prompt.stored(row.string(1), isMessages: row.bool(2)) {
            case .text(let text): prompt = text
            case .messages(let messages): prompt = messages.map(\.content).joined(separator: "\n")
            }
            let (a, b) = (row.string(3), row.string(4))
            pairs.append(DatasetAudit.Pair(line: Int(row.int64(0)), prompt: prompt, chosen: side == "A" ? a : b, rejected: side == "A" ? b : a))
        }
        return pairs
    }
}
