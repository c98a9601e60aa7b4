import Storage

/// How a search's words become matches: whole words or prefixes, and the
/// PostgreSQL plans that a word without statistics would otherwise get wrong.
extension PairBrowser {
    /// The ids of pairs holding every word (SQLite: of any project).
    static func matchingIDs(_ db: any Database, _ words: [String]) -> String {
        switch db.dialect {
        case .sqlite: "SELECT rowid AS id FROM pair_search WHERE pair_search MATCH ?"
        case .postgres: "SELECT pair_id AS id FROM pair_search WHERE project_id = ? AND document @@ to_tsquery('simple', ?)"
        }
    }

    /// Whether a search with a prefix matches many pairs (PostgreSQL): at least
    /// `densePrefixMatches` of the project's first `prefixProbe` pairs. PostgreSQL
    /// has no statistics for prefixes and expects them to be rare, so it would
    /// gather every posting of every word with that prefix before the first page;
    /// a bounded look at the first pairs tells the two cases apart (a few ms).
    static func densePrefix(_ db: any Database, projectID: Int, query: Query) throws -> Bool {
        guard query.words.contains(where: { $0.hasSuffix("*") }) else { return false }
        let values = matchValues(db, projectID, query.words)
        let found =
            try db.queryFirst(
                """
                SELECT count(*) FROM (SELECT document FROM pair_search WHERE project_id = ? ORDER BY project_id, pair_id LIMIT ?) w
                WHERE document @@ to_tsquery('simple', ?)
                """, [values[0], .int(Int64(query.prefixProbe)), values[1]]
            ) { $0.int(0) } ?? 0
        return found >= query.densePrefixMatches
    }

    /// Pairs a prefix probe reads, and the matches among them that make it dense (0.5%).
    static let prefixProbe = 10_000
    static let densePrefixMatches = 50

    /// A search ordered by a key matches more pairs than it may sort.
    static func tooManyToSort(_ query: Query) -> ValidationError {
        ValidationError("sort: more than \(query.searchSortLimit) pairs match; narrow the search, or order by id (id or -id)")
    }

    /// Words at least this long may match as prefixes.
    static let prefixLength = 3

    /// A search's words as they are matched: a word found as a whole word is
    /// searched as one (as fast as before); a word of three characters or more
    /// that is no word in the index becomes a prefix, marked with a trailing `*`
    /// ("kilomet" finds "kilometres"). Shorter words are always whole (a one-letter
    /// prefix would merge the postings of a good part of the vocabulary).
    ///
    /// PostgreSQL has no statistics for a word that is in no pair, guesses it is
    /// in 0.5% of them, and for `LIMIT 1` would walk the pairs in id order looking
    /// for one — all million of them (290 ms for "von" at 1,000,000 pairs). So it
    /// looks among the first ``wordProbe`` pairs (a common word is there), then asks
    /// the GIN index alone (a word in few pairs has a short posting list).
    static func completions(_ db: any Database, projectID: Int, _ words: [String]) throws -> [String] {
        try words.map { word in
            guard word.count >= prefixLength else { return word }
            let values = matchValues(db, projectID, [word])
            guard db.dialect == .postgres else {
                let exists = try db.queryFirst(matchingIDs(db, [word]) + " LIMIT 1", values) { _ in true } ?? false
                return exists ? word : word + "*"
            }
            let early = try db.queryFirst(
                """
                SELECT 1 FROM (SELECT document FROM pair_search WHERE project_id = ? ORDER BY project_id, pair_id LIMIT ?) w
                WHERE document @@ to_tsquery('simple', ?) LIMIT 1
                """, [values[0], .int(Int64(wordProbe)), values[1]]
            ) { _ in true }
            if early == true { return word }
            _ = try db.queryFirst("SELECT set_config('enable_indexscan', 'off', true), set_config('enable_seqscan', 'off', true)") {
                $0.string(0)
            }
            let exists = try db.queryFirst(matchingIDs(db, [word]) + " LIMIT 1", values) { _ in true } ?? false
            _ = try db.queryFirst("SELECT set_config('enable_indexscan', 'on', true), set_config('enable_seqscan', 'on', true)") {
                $0.string(0)
            }
            return exists ? word : word + "*"
        }
    }

    /// Pairs looked at before asking the search index whether a word is in any.
    static let wordProbe = 1_000

    static func matchValues(_ db: any Database, _ projectID: Int, _ words: [String]) -> [SQLValue] {
        switch db.dialect {
        // FTS5: each word quoted, so nothing in it is query syntax; a prefix then `*`.
        case .sqlite:
            return [.text(words.map { $0.hasSuffix("*") ? "\"\($0.dropLast())\"*" : "\"\($0)\"" }.joined(separator: " "))]
        // Words are letters and digits only; a prefix `:*`; joined with AND.
        case .postgres:
            return [.int(Int64(projectID)), .text(words.map { $0.hasSuffix("*") ? $0.dropLast() + ":*" : $0 }.joined(separator: " & "))]
        }
    }
}
