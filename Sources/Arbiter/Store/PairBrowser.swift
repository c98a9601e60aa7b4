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
        case id, idDescending = "-id", disagreement, disagreementDescending = "-disagreement", judgements, judgementsDescending =
            "-judgements"

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
        /// Words that must all occur (in the id, texts, model names or metadata); one
        /// of three characters or more that is no whole word matches as a prefix.
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
        /// Matches of a search that may be ordered by a key, at most.
        var searchSortLimit = PairBrowser.searchSortLimit
        /// A prefix found in at least this many of the first `prefixProbe` pairs is
        /// walked in id order (PostgreSQL; ``PairBrowser/densePrefix(_:projectID:query:)``).
        var densePrefixMatches = PairBrowser.densePrefixMatches
        var prefixProbe = PairBrowser.prefixProbe
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

    /// A pair's vote counts as `{"A":…,"B":…,"both_bad":…,"tie":…}`.
    static func votesJSON(_ votes: [String: Int]) -> JSONValue {
        .object(JSONObject(votes.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int(Int64($0.value))) }))
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

    /// At most this many matches of a search may be ordered by a key.
    static let searchSortLimit = 2_000
    /// A search with at most this many matches reads them all through the search
    /// index (PostgreSQL; SQLite's FTS5 walks its index in id order by itself).
    static let fewMatches = 5_000

    static func page(_ db: any Database, projectID: Int, query asked: Query) throws -> Page {
        var query = asked
        query.words = try completions(db, projectID: projectID, asked.words)
        if db.dialect == .postgres {
            // Plans for the values at hand, not a generic plan cached for the
            // statement: a search word in three pairs and one in half of them want
            // different plans (this read's transaction only).
            _ = try db.queryFirst("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)") { $0.string(0) }
        }
        var searchPending: Bool?
        // A prefix in many pairs (PostgreSQL): walk the pairs in id order and test
        // each, instead of gathering every posting of every word with that prefix
        // first (GIN has no ordered scan; its bitmap took 300 ms for a page of 50).
        let dense = try db.dialect == .postgres && densePrefix(db, projectID: projectID, query: query)
        if dense { _ = try db.queryFirst("SELECT set_config('enable_bitmapscan', 'off', true)") { $0.string(0) } }
        if !query.words.isEmpty {
            searchPending = try SearchIndex.pending(db)
            // PostgreSQL counts them with the page (`candidates`), reading the
            // matches once per page instead of twice.
            if query.sort.key != nil && db.dialect == .sqlite {
                let matches =
                    try db.queryFirst(
                        "SELECT count(*) FROM (\(matchingIDs(db, query.words)) LIMIT ?) m",
                        matchValues(db, projectID, query.words) + [.int(Int64(query.searchSortLimit + 1))]
                    ) { $0.int(0) } ?? 0
                guard matches <= query.searchSortLimit else { throw tooManyToSort(query) }
            }
        }
        let filter = filterSQL(query, projectID: projectID, dialect: db.dialect)
        var found: [(cursor: Cursor, summary: Summary)] = []
        var cursor = query.after
        var examined = 0
        // Windows grow (200, 800, …) up to `query.window` candidates in all, so an
        // ordinary page looks at few and a rare filter at no more than the bound.
        var size = min(query.window, max(query.limit * 4, 100))
        while true {
            let candidates = try self.candidates(db, projectID: projectID, query: query, after: cursor, limit: size, dense: dense)
            examined += candidates.count
            var index = 0
            var chunk = query.limit - found.count
            while index < candidates.count && found.count < query.limit {
                let slice = candidates[index..<min(index + chunk, candidates.count)]
                let rows = try summaries(db, ids: slice.map(\.id), filter: filter)
                for candidate in slice {
                    guard let summary = rows[candidate.id] else { continue }
                    found.append((candidate, summary))
                    if found.count == query.limit { break }
                }
                index += slice.count
                chunk = min(max(chunk * 2, 50), 1_000)
            }
            if found.count == query.limit {
                return Page(
                    pairs: found.map(\.summary), next: found.last?.cursor, complete: true, examined: nil, searchPending: searchPending)
            }
            if candidates.count < size {
                return Page(pairs: found.map(\.summary), next: nil, complete: true, examined: examined, searchPending: searchPending)
            }
            cursor = candidates.last
            if examined >= query.window {
                return Page(pairs: found.map(\.summary), next: cursor, complete: false, examined: examined, searchPending: searchPending)
            }
            size = min(size * 4, query.window - examined)
        }
    }

    /// The next `limit` candidates after `after` in the query's order: its ids and sort keys.
    private static func candidates(
        _ db: any Database, projectID: Int, query: Query, after: Cursor?, limit: Int, dense: Bool
    ) throws -> [Cursor] {
        let project = SQLValue.int(Int64(projectID))
        let descending = query.sort.descending
        let direction = descending ? "DESC" : "ASC"
        let comparison = descending ? "<" : ">"
        let key = query.sort.key
        // Bound with the column's type (PostgreSQL takes a parameter's type from its column).
        let keyValue = { (value: Double) -> SQLValue in key == "judgements" ? .int(Int64(value)) : .double(value) }
        let read = { (row: any Row) in Cursor(key: key == nil ? nil : row.double(1), id: row.int64(0)) }
        if !query.words.isEmpty {
            let matches = matchingIDs(db, query.words)
            let values = matchValues(db, projectID, query.words)
            // PostgreSQL guesses how many pairs hold a word it has no statistics for
            // (about 0.5%), and for a word in a handful walks the id index through
            // all of them. So it is told: when few pairs match (always, for a search
            // ordered by a key, which counted them), the matches are read through the
            // GIN index first and paged in memory.
            var few = query.sort.key != nil
            if db.dialect == .postgres && !few {
                if !dense {
                    let count =
                        try db.queryFirst(
                            "SELECT count(*) FROM (\(matches) LIMIT ?) m", values + [.int(Int64(fewMatches + 1))]
                        ) { $0.int(0) } ?? 0
                    few = count <= fewMatches
                }
            }
            let source = db.dialect == .postgres && few ? "WITH m AS MATERIALIZED (\(matches)) " : ""
            let from = source.isEmpty ? "(\(matches)) m" : "m"
            guard let key else {
                // The search index in id order.
                let range = after.map { _ in "AND id \(comparison) ?" } ?? ""
                return try db.query(
                    "\(source)SELECT id, NULL FROM \(from) WHERE 1 = 1 \(range) ORDER BY id \(direction) LIMIT ?",
                    values + (after.map { [.int($0.id)] } ?? []) + [.int(Int64(limit))], read)
            }
            // At most `searchSortLimit` matches, ordered by the key: read by id (SQLite
            // would otherwise walk the key's index hoping to meet the matches).
            let range = after.map { _ in "AND (p.\(key), p.id) \(comparison) (?, ?)" } ?? ""
            let afterValues = after.map { [keyValue($0.key ?? 0), .int($0.id)] } ?? []
            if db.dialect == .postgres {
                // The matches read once, counted with the page; their keys read by id
                // (k) before the cursor applies. With the cursor in the same query the
                // planner took `(key, id) < (…)` for one row and hashed every pair of
                // the project past it from the key's index (616,490 rows, 153 ms a page).
                var total = 0
                let range = after.map { _ in "WHERE (\(key), id) \(comparison) (?, ?)" } ?? ""
                let rows = try db.query(
                    """
                    WITH m AS MATERIALIZED (\(matches) LIMIT ?),
                    k AS MATERIALIZED (SELECT p.id, p.\(key) FROM pairs p WHERE p.id IN (SELECT id FROM m) AND p.project_id = ?)
                    SELECT id, \(key), (SELECT count(*) FROM m) FROM k \(range)
                    ORDER BY \(key) \(direction), id \(direction) LIMIT ?
                    """, values + [.int(Int64(query.searchSortLimit + 1)), project] + afterValues + [.int(Int64(limit))]
                ) { row -> Cursor in
                    total = row.int(2)
                    return read(row)
                }
                guard total <= query.searchSortLimit else { throw tooManyToSort(query) }
                return rows
            }
            return try db.query(
                "\(source)SELECT p.id, p.\(key) FROM pairs p\(db.dialect == .sqlite ? " NOT INDEXED" : "") WHERE p.id IN (SELECT id FROM \(from)) AND p.project_id = ? \(range) ORDER BY p.\(key) \(direction), p.id \(direction) LIMIT ?",
                values + [project] + (after.map { [keyValue($0.key ?? 0), .int($0.id)] } ?? []) + [.int(Int64(limit))], read)
        }
        guard let key else {
            // Reported and gold pairs have partial indexes in id order: walk those.
            var narrow = ""
            var index = ""
            if query.reported == true {
                narrow = " AND open_reports > 0"
                index = "pairs_reported"
            } else if query.gold == true {
                narrow = " AND gold IS NOT NULL"
                index = "pairs_gold"
            }
            let hint = db.dialect == .sqlite && !index.isEmpty ? " INDEXED BY \(index)" : ""
            let range = after.map { _ in "AND id \(comparison) ?" } ?? ""
            return try db.query(
                "SELECT id, NULL FROM pairs\(hint) WHERE project_id = ?\(narrow) \(range) ORDER BY project_id \(direction), id \(direction) LIMIT ?",
                [project] + (after.map { [.int($0.id)] } ?? []) + [.int(Int64(limit))], read)
        }
        // By a key: the rest of the cursor's key, then the keys beyond it (two
        // index ranges; a row-value comparison would not be one in SQLite).
        var rows: [Cursor] = []
        if let after {
            rows = try db.query(
                "SELECT id, \(key) FROM pairs WHERE project_id = ? AND \(key) = ? AND id \(comparison) ? ORDER BY project_id \(direction), \(key) \(direction), id \(direction) LIMIT ?",
                [project, keyValue(after.key ?? 0), .int(after.id), .int(Int64(limit))], read)
            guard rows.count < limit else { return rows }
        }
        let range = after.map { _ in "AND \(key) \(comparison) ?" } ?? ""
        rows += try db.query(
            "SELECT id, \(key) FROM pairs WHERE project_id = ? \(range) ORDER BY project_id \(direction), \(key) \(direction), id \(direction) LIMIT ?",
            [project] + (after.map { [keyValue($0.key ?? 0)] } ?? []) + [.int(Int64(limit - rows.count))], read)
        return rows
    }

    /// The filters as SQL on `p` (and `l`, the final label) with their values.
    private static func filterSQL(_ query: Query, projectID: Int, dialect: SQLDialect) -> (sql: String, values: [SQLValue]) {
        var filters = ["p.project_id = ?", PairRows.visible]
        var values: [SQLValue] = [.int(Int64(projectID))]
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
        if let reported = query.reported { filters.append(reported ? "p.open_reports > 0" : "p.open_reports = 0") }
        if let gold = query.gold { filters.append(gold ? "p.gold IS NOT NULL" : "p.gold IS NULL") }
        if let labelled = query.labelled { filters.append(labelled ? "l.label IS NOT NULL" : "l.label IS NULL") }
        if !query.raters.isEmpty {
            let raters = idList(dialect, column: "a.user_id", query.raters.map(Int64.init))
            filters.append("EXISTS (SELECT 1 FROM annotations a WHERE a.pair_id = p.id AND \(raters.sql))")
            values.append(raters.value)
        }
        return (filters.joined(separator: " AND "), values)
    }

    /// `column` is one of `ids`, as SQL of one shape whatever the ids (a list
    /// written into the SQL would make each page a new prepared statement).
    static func idList(_ dialect: SQLDialect, column: String, _ ids: [Int64]) -> (sql: String, value: SQLValue) {
        let numbers = ids.map { String($0) }.joined(separator: ",")
        switch dialect {
        case .sqlite: return ("\(column) IN (SELECT value FROM json_each(?))", .text("[" + numbers + "]"))
        case .postgres: return ("\(column) = ANY(CAST(? AS bigint[]))", .text("{" + numbers + "}"))
        }
    }

    /// The candidates among `ids` that pass the filters, by id. The rows are read
    /// by id (SQLite's planner, without statistics, would otherwise walk a
    /// judgements index for a filter such as `state=complete`).
    private static func summaries(_ db: any Database, ids: [Int64], filter: (sql: String, values: [SQLValue])) throws -> [Int64: Summary] {
        guard !ids.isEmpty else { return [:] }
        var result: [Int64: Summary] = [:]
        let list = idList(db.dialect, column: "p.id", ids)
        _ = try db.query(
            """
            SELECT p.id, p.external_id, p.prompt, p.prompt_is_messages, p.model_a, p.model_b, p.gold, p.votes_a, p.votes_b, p.votes_tie,
                   p.votes_both_bad, p.judgements, p.wanted, p.disagreement, p.open_reports, l.label
            FROM pairs p\(db.dialect == .sqlite ? " NOT INDEXED" : "") LEFT JOIN pair_labels l ON l.pair_id = p.id
            WHERE \(list.sql) AND \(filter.sql)
            """, [list.value] + filter.values
        ) { row in
            result[row.int64(0)] = Summary(
                externalID: row.string(1), prompt: Prompt.stored(row.string(2), isMessages: row.bool(3)), modelA: row.optionalString(4),
                modelB: row.optionalString(5), gold: row.optionalString(6),
                votes: ["A": row.int(7), "B": row.int(8), "tie": row.int(9), "both_bad": row.int(10)], judgements: row.int(11),
                wanted: row.int(12), disagreement: row.double(13), openReports: row.int(14), label: row.optionalString(15))
        }
        return result
    }
}
