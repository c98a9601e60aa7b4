public import Storage
import JSON

/// Pairs of a project imported with a label (TRL or HH-RLHF lines keep the
/// source's choice in `metadata.source_chosen`), for the dataset audit.
public enum ImportedLabels {
    /// How a reviewer knows a pair: its own id (what the item browser opens) and
    /// the start of its prompt.
    public struct PairName: Sendable {
        public var id: String
        public var preview: String
    }

    /// Every visible pair with an imported label, as the audit reads it (`line`
    /// carries the pair's row id), and each pair's name by that row id.
    public static func auditPairs(_ db: any Database, projectID: Int) throws -> (pairs: [DatasetAudit.Pair], names: [Int: PairName]) {
        let rows = try db.statement(
            """
            SELECT id, prompt, prompt_is_messages, response_a, response_b, metadata, external_id
            FROM visible_pairs WHERE project_id = ? AND metadata IS NOT NULL ORDER BY id
            """)
        try rows.bind([.int(Int64(projectID))])
        var pairs: [DatasetAudit.Pair] = []
        var names: [Int: PairName] = [:]
        try rows.forEach { row in
            guard let metadata = try? JSONValue.parse(row.string(5)), let side = metadata["source_chosen"]?.stringValue,
                side == "A" || side == "B"
            else { return }
            let stored = Prompt.stored(row.string(1), isMessages: row.bool(2))
            names[Int(row.int64(0))] = PairName(id: row.string(6), preview: PairBrowser.preview(stored))
            let prompt: String
            switch stored {
            case .text(let text): prompt = text
            case .messages(let messages): prompt = messages.map(\.content).joined(separator: "\n")
            }
            let (a, b) = (row.string(3), row.string(4))
            pairs.append(
                DatasetAudit.Pair(line: Int(row.int64(0)), prompt: prompt, chosen: side == "A" ? a : b, rejected: side == "A" ? b : a))
        }
        return (pairs, names)
    }
}
