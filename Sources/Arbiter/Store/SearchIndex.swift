import Storage

/// The text-search index's upkeep (migration 0014): new pairs wait in
/// `search_queue`; ``SearchIndexer`` moves them into the index a batch at a time,
/// each batch one short transaction. The words a pair is indexed under come from
/// the `pair_documents` view, so indexing and forgetting agree.
enum SearchIndex {
    /// Indexes the first `limit` queued pairs; returns how many it indexed.
    static func indexBatch(_ db: any Database, limit: Int) throws -> Int {
        switch db.dialect {
        case .sqlite:
            // One writer: the first `limit` queued ids are exactly those in their range.
            let ids = try db.query("SELECT pair_id FROM search_queue ORDER BY pair_id LIMIT ?", [.int(Int64(limit))]) { $0.int64(0) }
            guard let first = ids.first, let last = ids.last else { return 0 }
            let range: [SQLValue] = [.int(first), .int(last)]
            try db.run(
                """
                INSERT INTO pair_search (rowid, document)
                SELECT id, document FROM pair_documents WHERE id IN (SELECT pair_id FROM search_queue WHERE pair_id BETWEEN ? AND ?)
                """, range)
            try db.run("DELETE FROM search_queue WHERE pair_id BETWEEN ? AND ?", range)
            return ids.count
        case .postgres:
            // Several nodes index at once, each its own rows.
            let ids = try db.query("SELECT pair_id FROM search_queue ORDER BY pair_id LIMIT ? FOR UPDATE SKIP LOCKED", [.int(Int64(limit))])
            { $0.int64(0) }
            guard !ids.isEmpty else { return 0 }
            let list = PairBrowser.idList(.postgres, column: "id", ids)
            try db.run(
                """
                INSERT INTO pair_search (pair_id, project_id, document)
                SELECT id, project_id, to_tsvector('simple', document) FROM pair_documents WHERE \(list.sql)
                ON CONFLICT (pair_id) DO NOTHING
                """, [list.value])
            try db.run("DELETE FROM search_queue WHERE \(PairBrowser.idList(.postgres, column: "pair_id", ids).sql)", [list.value])
            return ids.count
        }
    }

    /// Whether pairs wait to be indexed.
    static func pending(_ db: any Database) throws -> Bool {
        try db.queryFirst("SELECT 1 FROM search_queue LIMIT 1") { $0.int(0) } != nil
    }
}
