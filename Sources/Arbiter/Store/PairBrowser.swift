import JSON
import Storage

/// The item browser's reads: a project's pairs searched, filtered and sorted, in
/// keyset pages that stay fast at a million pairs.
///
/// Every page walks one index in the chosen order (or, for a text search, the
/// search index in id order) from the cursor, examining at most `window`
/// candidates; the filters are applied to those. A page therefore costs the same
/// on the first page and the ten-thousandth, and a filter that matches almost
/// nothing cannot turn a request into a scan of the whole project: the answer
/// then holds what the window found and a cursor to go on from (`exhausted` is
/// false), and the page asks for the next window itself.
enum PairBrowser {
    /// Candidates examined per request, at most.
    static let window = 5_000

    enum Sort: String, Sendable, CaseIterable {
        case id, idDescending = "-id", disagreement, disagreementDescending = "-disagreement", judgements, judgementsDescending = "-judgements"

        /// The column the index orders by after project_id (nil: the id alone).
        var key: String? {
            switch self {
            case .id, .idDescending: nil
            case .disagreement, .disagreementDescending: "disagreement"
            case .judgements, .judgementsDescending: "judgements"
            }
        }

        var descending: Bool { rawValue.hasPrefix("-") }
    }

    enum State: String, Sendable, CaseIterable {
        case unjudged, inProgress = "in_progress", complete
    }

    /// Where a page starts: after this (key, id) in the sort order.
    struct Cursor: Sendable, Equatable {
        var key: Double?
        var id: Int64

        /// `ID` for the id orders, `KEY~ID` for the others.
        var text: String { key.map { "\(Self.format($0))~\(id)" } ?? String(id) }

        init(key: Double?, id: Int64) {
            self.key = key
            self.id = id
        }

        init?(_ text: String, sort: Sort) {
            let parts = text.split(separator: "~", omittingEmptySubsequences: false)
            if sort.key == nil {
                guard parts.count == 1, let id = Int64(parts[0]), id >= 0 else { return nil }
                self.init(key: nil, id: id)
            } else {
                guard parts.count == 2, let id = Int64(parts[1]), id >= 0 else { return nil }
                // Judgement counts are whole numbers; disagreement lies in 0…2.
                if sort.key == "judgements" {
                    guard let count = Int32(parts[0]), count >= 0 else { return nil }
                    self.init(key: Double(count), id: id)
                } else {
                    guard let key = Double(parts[0]), (0...2).contains(key) else { return nil }
                    self.init(key: key, id: id)
                }
            }
        }

        static func format(_ value: Double) -> String { value == value.rounded() ? String(Int64(value)) : String(value) }
    }

    struct Query: Sendable {
        /// Words that must all occur (in the id, texts, model names or metadata).
        var words: [String] = []
        var state: State?
        var minJudgements: Int?
        var maxJudgements: Int?
        var minDisagreement: Double?
        var reported: Bool?
        var gold: Bool?
        var labelled: Bool?
        /// Pairs judged by any of these raters (user ids).
        var raters: [Int] = []
        var sort: Sort = .id
        var after: Cursor?
        var limit = 50
        /// Candidates examined at most (tests make it small).
        var window = PairBrowser.window
    }

    struct Summary: Sendable {
        var externalID: String
        var prompt: Prompt
        var modelA: String?
        var modelB: String?
        var gold: String?
        var votes: [String: Int]
        var judgements: Int
        var wanted: Int
        var disagreement: Double
        var openReports: Int
        var label: String?

        var json: JSONValue {
            [
                "id": .string(externalID), "prompt_preview": .string(PairBrowser.preview(prompt)), "model_a": JSONValue(modelA),
                "model_b": JSONValue(modelB), "gold": JSONValue(gold),
                "votes": .object(JSONObject(votes.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int(Int64($0.value))) })),
                "judgements": .int(Int64(judgements)), "wanted": .int(Int64(wanted)), "disagreement": .double(disagreement),
                "open_reports": .int(Int64(openReports)), "final_label": JSONValue(label),
            ]
        }
    }

    struct Page: Sendable {
        var pairs: [Summary]
        /// Where the next page starts (nil: nothing after).
        var next: Cursor?
        /// Whether the page is as full as asked or the end was reached; false when the
        /// window ran out first (ask again from `next`).
        var complete: Bool
        /// Candidates examined, when the page is not full.
        var examined: Int?
        /// For a search: whether pairs still wait to be indexed (and may be missing).
        var searchPending: Bool? = nil
    }

    /// The last user turn of a conversation (or the text), cut to 240 characters.
    static func preview(_ prompt: Prompt) -> String {
        let text: String
        switch prompt {
        case .text(let value): text = value
        case .messages(let messages): text = messages.last { $0.role == "user" }?.content ?? messages.last?.content ?? ""
        }
        let flat = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return flat.count > 240 ? String(flat.prefix(239)) + "…" : flat
    }

    /// The words of a search: runs of letters and digits, lower-cased, at most 16.
    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return Array(words.prefix(16))
    }

    static func page(_ db: any Database, projectID: Int, query: Query) throws -> Page {
        let project = SQLValue.int(Int64(projectID))
        let descending = query.sort.descending
        let direction = descending ? "DESC" : "ASC"
        let comparison = descending ? "<" : ">"
        // The window: candidate ids (and sort keys) in order, from the cursor.
        let window: String
        var windowValues: [SQLValue]
        let orderKey: String
        let after = query.after.map { "\(comparison) \($0.id)" }
        // Bound with the column's type (PostgreSQL takes a parameter's type from its column).
        let keyValue = { (value: Double) -> SQLValue in query.sort.key == "judgements" ? .int(Int64(value)) : .double(value) }
        // A search ordered by disagreement or judgements orders all its matches
        // (at most one window of them); the cursor then applies to those.
        var outerRange: (sql: String, values: [SQLValue])?
        var searchPending: Bool?
        if !query.words.isEmpty {
            let ordered = query.sort.key != nil
            orderKey = query.sort.key.map { "p.\($0)" } ?? "p.id"
            let idRange = ordered ? "" : after.map { "AND id \($0)" } ?? ""
            let limit = ordered ? query.window + 1 : query.window
            switch db.dialect {
            case .sqlite:
                // FTS5 walks its index in rowid order; each word is quoted, so
                // nothing in them is query syntax.
                let match = query.words.map { "\"\($0)\"" }.joined(separator: " ")
                window = "SELECT rowid AS id, NULL AS sort_key FROM pair_search WHERE pair_search MATCH ? \(ordered ? "" : after.map { "AND rowid \($0)" } ?? "") ORDER BY rowid \(direction) LIMIT \(limit)"
                windowValues = [.text(match)]
            case .postgres:
                window = "SELECT pair_id AS id, NULL AS sort_key FROM pair_search WHERE project_id = ? AND document @@ to_tsquery('simple', ?) \(ordered ? "" : after.map { "AND pair_id \($0)" } ?? "") ORDER BY pair_id \(direction) LIMIT \(limit)"
                windowValues = [project, .text(query.words.joined(separator: " & "))]
            }
            searchPending = try SearchIndex.pending(db)
            if let key = query.sort.key {
                let matches = try db.queryFirst("SELECT count(*) FROM (\(window)) w", windowValues) { $0.int(0) } ?? 0
                guard matches <= query.window else {
                    throw ValidationError("sort: more than \(query.window) pairs match; narrow the search, or order by id (id or -id)")
                }
                if let cursor = query.after {
                    outerRange = ("(p.\(key), p.id) \(comparison) (?, ?)", [keyValue(cursor.key ?? 0), .int(cursor.id)])
                }
            }
        } else if let key = query.sort.key {
            orderKey = "p.\(key)"
            let range = query.after.map { _ in "AND (\(key), id) \(comparison) (?, ?)" } ?? ""
            window = "SELECT id, \(key) AS sort_key FROM pairs WHERE project_id = ? \(range) ORDER BY project_id \(direction), \(key) \(direction), id \(direction) LIMIT \(query.window)"
            windowValues = [project] + (query.after.map { [keyValue($0.key ?? 0), .int($0.id)] } ?? [])
        } else {
            orderKey = "p.id"
            // Reported and gold pairs have partial indexes in id order: walk those.
            var narrow = ""
            if query.reported == true { narrow += " AND open_reports > 0" }
            if query.gold == true { narrow += " AND gold IS NOT NULL" }
            window = "SELECT id, NULL AS sort_key FROM pairs WHERE project_id = ?\(narrow) \(after.map { "AND id \($0)" } ?? "") ORDER BY project_id \(direction), id \(direction) LIMIT \(query.window)"
            windowValues = [project]
        }

        var filters = ["p.project_id = ?", "(p.import_id IS NULL OR p.import_id NOT IN (SELECT id FROM imports WHERE state = 'staging'))"]
        var values: [SQLValue] = [project]
        switch query.state {
        case .unjudged: filters.append("p.judgements = 0")
        case .inProgress: filters.append("p.judgements > 0 AND p.judgements < p.wanted")
        case .complete: filters.append("p.judgements > 0 AND p.judgements >= p.wanted")
        case nil: break
        }
        if let minimum = query.minJudgements {
            filters.append("p.judgements >= ?")
            values.append(.int(Int64(minimum)))
        }
        if let maximum = query.maxJudgements {
            filters.append("p.judgements <= ?")
            values.append(.int(Int64(maximum)))
        }
        if let minimum = query.minDisagreement {
            filters.append("p.disagreement >= ?")
            values.append(.double(minimum))
        }
        if let outerRange {
            filters.append(outerRange.sql)
            values += outerRange.values
        }
        if let reported = query.reported { filters.append(reported ? "p.open_reports > 0" : "p.open_reports = 0") }
        if let gold = query.gold { filters.append(gold ? "p.gold IS NOT NULL" : "p.gold IS NULL") }
        if let labelled = query.labelled { filters.append(labelled ? "l.label IS NOT NULL" : "l.label IS NULL") }
        if !query.raters.isEmpty {
            filters.append("EXISTS (SELECT 1 FROM annotations a WHERE a.pair_id = p.id AND a.user_id IN (\(query.raters.map { String($0) }.joined(separator: ", "))))")
        }
        let sql = """
            SELECT p.id, p.external_id, p.prompt, p.prompt_is_messages, p.model_a, p.model_b, p.gold, p.votes_a, p.votes_b, p.votes_tie,
                   p.votes_both_bad, p.judgements, p.wanted, p.disagreement, p.open_reports, l.label, \(query.sort.key.map { "p.\($0)" } ?? "NULL")
            FROM (\(window)) w JOIN pairs p ON p.id = w.id LEFT JOIN pair_labels l ON l.pair_id = p.id
            WHERE \(filters.joined(separator: " AND "))
            ORDER BY \(orderKey) \(direction), p.id \(direction) LIMIT ?
            """
        var last: Cursor?
        let pairs = try db.query(sql, windowValues + values + [.int(Int64(query.limit))]) { row -> Summary in
            last = Cursor(key: query.sort.key == nil ? nil : row.double(16), id: row.int64(0))
            return Summary(
                externalID: row.string(1), prompt: Prompt.stored(row.string(2), isMessages: row.bool(3)), modelA: row.optionalString(4),
                modelB: row.optionalString(5), gold: row.optionalString(6),
                votes: ["A": row.int(7), "B": row.int(8), "tie": row.int(9), "both_bad": row.int(10)], judgements: row.int(11),
                wanted: row.int(12), disagreement: row.double(13), openReports: row.int(14), label: row.optionalString(15))
        }
        if pairs.count == query.limit { return Page(pairs: pairs, next: last, complete: true, examined: nil, searchPending: searchPending) }
        // Not full: either the window reached the end, or it ran out first.
        let candidates = try db.query(window, windowValues) { Cursor(key: query.sort.key == nil ? nil : $0.double(1), id: $0.int64(0)) }
        if candidates.count < query.window { return Page(pairs: pairs, next: nil, complete: true, examined: candidates.count, searchPending: searchPending) }
        return Page(pairs: pairs, next: candidates.last, complete: false, examined: candidates.count, searchPending: searchPending)
    }
}
