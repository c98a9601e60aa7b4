import JSON
import Storage

/// Writes parsed pairs into a project, telling duplicates (the same pair again)
/// from conflicts (the same id with other content). Every import writes through it.
struct PairRows {
    /// The `visible_pairs` view's condition on a pair aliased `p` (not in an import
    /// still being staged), for statements that cannot read the view: rows of a
    /// view with a subquery cannot be locked, and the item browser reads `pairs`
    /// by id with its own index hints.
    static let visible = "(p.import_id IS NULL OR p.import_id NOT IN (SELECT id FROM imports WHERE state = 'staging'))"

    /// Whether the project has a pair (or task) with this id, staged or not.
    static func exists(_ db: any Database, projectID: Int, externalID: String) throws -> Bool {
        try db.queryFirst("SELECT 1 FROM pairs WHERE project_id = ? AND external_id = ?", [.int(Int64(projectID)), .text(externalID)]) {
            _ in true
        } == true
    }

    private let db: any Database
    private let insert: any PreparedStatement
    private let existing: any PreparedStatement
    private let project: SQLValue
    private let wanted: SQLValue
    private let importID: SQLValue

    /// Pairs written by one statement in ``insert(lines:into:)``: one round trip
    /// for this many pairs on PostgreSQL (15 parameters each, far below either
    /// engine's limit).
    static let rowsPerStatement = 64

    /// `importID` tags the rows of a staged import (nil: visible at once).
    init(_ db: any Database, projectID: Int, importID: Int64?) throws {
        self.db = db
        insert = try db.statement(Self.insertSQL(rows: 1))
        existing = try db.statement("SELECT content_hash FROM pairs WHERE project_id = ? AND external_id = ?")
        guard let settings = try Projects.find(db, id: projectID)?.settings else { throw ServiceError.noSuchProject }
        project = .int(Int64(projectID))
        wanted = .int(Int64(PairDemand.initial(settings)))
        self.importID = SQLValue(importID)
    }

    /// An insert of `rows` pairs that skips any that collide (same id or same
    /// content) and returns the ids of those it wrote.
    private static func insertSQL(rows: Int) -> String {
        let row = "(" + Array(repeating: "?", count: 15).joined(separator: ", ") + ")"
        return """
            INSERT INTO pairs (project_id, external_id, content_hash, prompt, prompt_is_messages, response_a, response_b,
                model_a, model_b, metadata, gold, wanted, import_id, responses, models)
            VALUES \(Array(repeating: row, count: rows).joined(separator: ", ")) ON CONFLICT DO NOTHING RETURNING external_id
            """
    }

    /// Inserts the pairs of line `line`, counting them in `report`.
    func insert(_ pairs: [PairInput], line: Int, into report: inout ImportReport) throws {
        try insert(lines: [(line, pairs)], into: &report)
    }

    /// Inserts the pairs of several lines, in order, `rowsPerStatement` at a time;
    /// the same counts and messages as one pair at a time (the first of two
    /// pairs with one id is written, the second is a duplicate or a conflict).
    func insert(lines: [(line: Int, pairs: [PairInput])], into report: inout ImportReport) throws {
        var pending: [Pending] = []
        pending.reserveCapacity(Self.rowsPerStatement)
        var full: (any PreparedStatement)?
        for (line, pairs) in lines {
            for pair in pairs {
                let hash = pair.contentHash
                pending.append(
                    Pending(
                        line: line, pair: pair, hash: hash,
                        externalID: pair.externalID ?? "sha256:" + Digest.hex(Array(hash.prefix(12)))))
                if pending.count == Self.rowsPerStatement {
                    if full == nil { full = try db.statement(Self.insertSQL(rows: Self.rowsPerStatement)) }
                    try write(pending, with: full!, into: &report)
                    pending.removeAll(keepingCapacity: true)
                }
            }
        }
        if pending.isEmpty { return }
        try write(pending, with: pending.count == 1 ? insert : try db.statement(Self.insertSQL(rows: pending.count)), into: &report)
    }

    private struct Pending {
        let line: Int
        let pair: PairInput
        let hash: [UInt8]
        let externalID: String
    }

    private func write(_ rows: [Pending], with statement: any PreparedStatement, into report: inout ImportReport) throws {
        var values: [SQLValue] = []
        values.reserveCapacity(rows.count * 15)
        for row in rows {
            let pair = row.pair
            values += [
                project, .text(row.externalID), .blob(row.hash), .text(pair.prompt.storedText), SQLValue(pair.prompt.isMessages),
                .text(pair.responseA), .text(pair.responseB), SQLValue(pair.modelA), SQLValue(pair.modelB),
                SQLValue(pair.metadata.map { JSONValueText.text(of: $0) }), SQLValue(pair.gold?.rawValue), wanted, importID,
                SQLValue(pair.responses.map { JSONValue.array($0.map { .string($0) }).jsonText }),
                SQLValue(pair.models.map { JSONValue.array($0.map { JSONValue($0) }).jsonText }),
            ]
        }
        try statement.bind(values)
        // Each written id once; the first pair in order carrying it is the one written.
        var written: [String: Int] = [:]
        for id in try statement.rows({ $0.string(0) }) { written[id, default: 0] += 1 }
        for row in rows {
            if let left = written[row.externalID], left > 0 {
                written[row.externalID] = left - 1
                report.imported += 1
                continue
            }
            try existing.bind([project, .text(row.externalID)])
            if let stored = try existing.first({ $0.blob(0) }), stored != row.hash {
                report.record(line: row.line, "id '\(row.externalID)' is already used by a different pair")
            } else {
                report.duplicates += 1
            }
        }
    }
}

/// Writes imported judgements: finds their pairs, tells duplicates, counts first
/// judgements toward overlap.
struct JudgementRows {
    private let project: SQLValue
    private let findPair: any PreparedStatement
    private let previous: any PreparedStatement
    private let duplicate: any PreparedStatement
    private let insertStatement: any PreparedStatement
    private let count: any PreparedStatement

    init(_ db: any Database, projectID: Int) throws {
        project = .int(Int64(projectID))
        findPair = try db.statement("SELECT id, gold IS NOT NULL, responses FROM visible_pairs WHERE project_id = ? AND external_id = ?")
        previous = try db.statement("SELECT count(*) FROM annotations WHERE pair_id = ? AND user_id = ?")
        duplicate = try db.statement(
            "SELECT 1 FROM annotations WHERE pair_id = ? AND user_id = ? AND created_at = ? AND choice = ? LIMIT 1")
        insertStatement = try db.statement(
            """
            INSERT INTO annotations (project_id, pair_id, user_id, kind, choice, strength, aspects, rationale,
                shown_swapped, duration_ms, created_at, ranking, ratings, rewrite, rewrite_base)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        count = try db.statement("UPDATE pairs SET active_count = active_count + 1 WHERE id = ?")
    }

    /// The visible pair with this external id: its row id, whether it is gold, and
    /// how many responses it has.
    func pair(externalID: String) throws -> (Int64, Bool, Int)? {
        try findPair.bind([project, .text(externalID)])
        return try findPair.first { ($0.int64(0), $0.bool(1), StoredResponses.parse($0.optionalString(2))?.count ?? 2) }
    }

    /// Whether the same judgement (rater, time, choice) is already stored.
    func exists(pairID: Int64, userID: Int, createdAt: String, choice: Choice) throws -> Bool {
        try duplicate.bind([.int(pairID), .int(Int64(userID)), .text(createdAt), .text(choice.rawValue)])
        return try duplicate.first { _ in true } == true
    }

    /// Whether the rater has judged the pair before.
    func hasJudged(pairID: Int64, userID: Int) throws -> Bool {
        try previous.bind([.int(pairID), .int(Int64(userID))])
        return (try previous.first { $0.int(0) } ?? 0) > 0
    }

    /// Stores one judgement; a normal one counts toward the pair's overlap.
    func insert(_ judgement: ImportedJudgement, pairID: Int64, userID: Int, kind: AssignmentKind, createdAt: String) throws {
        try insertStatement.bind([
            project, .int(pairID), .int(Int64(userID)), .text(kind.rawValue), .text(judgement.choice.rawValue),
            SQLValue(judgement.strength), SQLValue(judgement.aspects.map { JSONValueText.text(of: $0) }),
            SQLValue(judgement.rationale), judgement.shownSwapped.map { SQLValue($0) } ?? .null,
            SQLValue(judgement.durationMilliseconds), .text(createdAt),
            SQLValue(judgement.ranking.map { $0.json.jsonText }),
            SQLValue(judgement.ratings.map { $0.json(attributes: judgement.attributes).jsonText }),
            SQLValue(judgement.rewrite?.text), SQLValue(judgement.rewrite?.base),
        ])
        try insertStatement.run()
        if kind == .normal {
            try count.bind([.int(pairID)])
            try count.run()
        }
    }
}
