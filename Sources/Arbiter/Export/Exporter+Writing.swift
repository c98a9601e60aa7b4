import JSON
import Storage

extension Exporter {
    /// `data.jsonl` → `data.train.jsonl` / `data.test.jsonl`.
    static func splitPaths(_ out: String) -> (train: String, test: String) {
        if out.hasSuffix(".jsonl") {
            let stem = String(out.dropLast(6))
            return (stem + ".train.jsonl", stem + ".test.jsonl")
        }
        return (out + ".train", out + ".test")
    }

    /// A pair goes to the test file when a hash of (seed, external id) falls below the fraction.
    static func inTest(_ externalID: String, seed: UInt64, fraction: Double) -> Bool { splitHash(externalID, seed: seed) < fraction }

    /// The items of a test split: those whose seeded hash falls below the fraction,
    /// and, where that gives fewer than round(fraction × n) items (small exports: a
    /// 10% split of 8 pairs is often empty by chance), the next-lowest hashes up to
    /// that many — at least one when there are two items or more, never all of
    /// them. So a requested test split is never empty by accident, and a re-export
    /// of the same items splits the same way.
    static func testItems(_ ids: [String], seed: UInt64, fraction: Double) -> Set<String> {
        let hashed = ids.map { (id: $0, hash: splitHash($0, seed: seed)) }.sorted { ($0.hash, $0.id) < ($1.hash, $1.id) }
        let below = hashed.prefix { $0.hash < fraction }.count
        let wanted = ids.count < 2 || fraction <= 0 ? 0 : max(1, Int((fraction * Double(ids.count)).rounded()))
        return Set(hashed.prefix(min(max(below, wanted), max(ids.count - 1, 0))).map(\.id))
    }

    /// A seeded hash of an item's id, uniform in [0, 1).
    static func splitHash(_ externalID: String, seed: UInt64) -> Double {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
        for byte in externalID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01B3
        }
        hash ^= hash >> 33
        hash = hash &* 0xFF51_AFD7_ED55_8CCD
        hash ^= hash >> 33
        return Double(hash >> 11) / Double(1 << 53)
    }

    /// The data file, or with a test fraction the train and test files, each line
    /// going where its item's seeded hash says (so a re-export splits the same way;
    /// see ``Exporter/testItems(_:seed:fraction:)`` for small exports).
    final class SplitWriter {
        let paths: (train: String, test: String)
        let train: HashingFileWriter
        let test: HashingFileWriter?
        let options: ExportOptions
        /// The items known up front, and their test split.
        let items: Set<String>
        let testItems: Set<String>
        var lines = (train: 0, test: 0)

        init(out: String, options: ExportOptions, items: [String]) throws {
            self.options = options
            paths = options.testFraction == nil ? (train: out, test: "") : Exporter.splitPaths(out)
            train = try HashingFileWriter(path: paths.train)
            test = options.testFraction == nil ? nil : try HashingFileWriter(path: paths.test)
            testItems = options.testFraction.map { Exporter.testItems(items, seed: options.seed, fraction: $0) } ?? []
            self.items = options.testFraction == nil ? [] : Set(items)
        }

        /// Whether the item with this id is in the test split.
        func isTest(_ externalID: String) -> Bool {
            guard let fraction = options.testFraction else { return false }
            // Items not listed up front (rewrite pairs of a pair that gave no preference) follow the hash.
            return testItems.contains(externalID)
                || !items.contains(externalID) && Exporter.inTest(externalID, seed: options.seed, fraction: fraction)
        }

        /// Writes a line of item `externalID`; whether it went to the test file.
        @discardableResult
        func write(_ line: [UInt8], externalID: String) throws -> Bool {
            if let test, isTest(externalID) {
                try test.write(line)
                lines.test += 1
                return true
            }
            try train.write(line)
            lines.train += 1
            return false
        }

        func close() throws -> [ExportManifest.File] {
            var files = [ExportManifest.File(path: paths.train, sha256: try train.close(), lines: lines.train)]
            if let test { files.append(ExportManifest.File(path: paths.test, sha256: try test.close(), lines: lines.test)) }
            return files
        }
    }

    static func writePairwise(
        _ db: any Database, project: Project, options: ExportOptions, decisions: Decisions, out: String,
        training: inout PreferenceSetBuilder?, excluded: Set<Int> = []
    ) throws -> [ExportManifest.File] {
        let items = options.testFraction == nil ? [] : try ExportReads.externalIDs(db, projectID: project.id, only: decisions.winners)
        let writer = try SplitWriter(out: out, options: options, items: items)
        try ExportReads.pairs(db, projectID: project.id, only: decisions.winners) { pair in
            guard let decision = decisions.winners[pair.id] else { return }
            let (chosen, rejected) = decision.aWins ? (pair.responseA, pair.responseB) : (pair.responseB, pair.responseA)
            let margin = options.margin ? decision.share * decision.strength : nil
            let line = options.format.preferenceLine(
                prompt: pair.prompt, chosen: chosen, rejected: rejected, margin: margin,
                labelSource: decisions.labelSource(pair.id))
            let isTest = try writer.write(line, externalID: pair.externalID)
            training?.append(chosen: chosen, rejected: rejected, margin: Float(margin ?? 0), test: isTest, pair: (pair.id, decision.aWins))
        }
        if options.rewritePairs {
            try writeRewritePairs(db, project: project, options: options, excluded: excluded, writer: writer, training: &training)
        }
        return try writer.close()
    }

    /// "Rewritten > original": every counted rewrite against its base response.
    static func writeRewritePairs(
        _ db: any Database, project: Project, options: ExportOptions, excluded: Set<Int>, writer: SplitWriter,
        training: inout PreferenceSetBuilder?
    ) throws {
        var texts: [Int64: (String, Prompt, [String])] = [:]
        try ExportReads.tasks(db, projectID: project.id) { id, externalID, prompt, responses in
            texts[id] = (externalID, prompt, responses)
        }
        var previous: (Int64, Int) = (-1, -1)
        try ExportReads.taskJudgements(db, projectID: project.id) { judgement in
            guard (judgement.pair, judgement.user) != previous else { return }
            previous = (judgement.pair, judgement.user)
            guard !excluded.contains(judgement.user), let rewrite = judgement.rewrite,
                let (externalID, prompt, responses) = texts[judgement.pair],
                rewrite.base < responses.count, rewrite.text != responses[rewrite.base]
            else { return }
            let line = options.format.preferenceLine(
                prompt: prompt, chosen: rewrite.text, rejected: responses[rewrite.base], margin: nil,
                labelSource: "rewrite")
            let isTest = try writer.write(line, externalID: externalID)
            training?.append(chosen: rewrite.text, rejected: responses[rewrite.base], margin: 0, test: isTest)
        }
    }

    static func writeRaw(
        _ db: any Database, project: Project, options: ExportOptions, excluding quarantined: Set<Int>, flagged: Set<Int>,
        names: [Int: String], out: String
    ) throws -> (file: ExportManifest.File, excluded: Int) {
        let writer = try HashingFileWriter(path: out)
        var columns = [
            "pair_id", "annotator", "choice", "strength", "aspects", "rationale", "shown_swapped", "duration_ms", "created_at",
            "kind", "rater_status", "excluded", "excluded_reason",
        ]
        // Ranking and rating projects, and projects with rewrites: the whole judgement
        // (canonical indices into the task's responses, best first) and the order shown.
        let taskColumns = project.settings.kind != .pairwise || project.settings.rewrite
        if taskColumns { columns += ["ranking", "ratings", "rewrite", "rewrite_base", "shown_order"] }
        if let header = options.format.annotationHeader(columns) { try writer.write(header) }
        var lines = 0
        var excluded = 0
        try ExportReads.annotations(db, projectID: project.id) { row in
            let user = row.user
            let reason: String? = quarantined.contains(user) ? "rater quarantined" : flagged.contains(user) ? "rater flagged" : nil
            if reason != nil { excluded += 1 }
            var values: [JSONValue] = [
                .string(row.externalPairID), JSONValue(names[user]), .string(row.choice), JSONValue(row.strength),
                row.aspects.flatMap { try? JSONValue.parse($0) } ?? .null, JSONValue(row.rationale),
                row.shownSwapped.map { .bool($0) } ?? .null, JSONValue(row.durationMilliseconds), .string(row.createdAt), .string(row.kind),
                .string(quarantined.contains(user) ? "quarantined" : flagged.contains(user) ? "flagged" : "ok"), .bool(reason != nil),
                JSONValue(reason),
            ]
            if taskColumns {
                values += [
                    row.ranking.flatMap { try? JSONValue.parse($0) } ?? .null, row.ratings.flatMap { try? JSONValue.parse($0) } ?? .null,
                    JSONValue(row.rewrite), JSONValue(row.rewriteBase), row.shownOrder.flatMap { try? JSONValue.parse($0) } ?? .null,
                ]
            }
            try writer.write(options.format.annotationLine(columns: columns, values: values))
            lines += 1
        }
        return (ExportManifest.File(path: out, sha256: try writer.close(), lines: lines), excluded)
    }
}
