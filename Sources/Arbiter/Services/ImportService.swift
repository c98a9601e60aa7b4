public import Threads
import Glibc
public import Storage

/// Imports, whatever the door. Every committed import is audited in the same
/// transaction that makes it visible.
///
/// - The server stages pair imports (``pairs(store:projectID:body:options:actor:address:now:)``):
///   lines are parsed off the writer and written in short transactions that
///   annotators' writes interleave with; the pairs stay invisible until one
///   final write marks the import committed. So a 200,000-pair upload never stalls
///   `next` or submit, and no reader sees half of it.
/// - The command line imports in one transaction on its own connection
///   (``pairs(_:project:reader:options:actor:now:)``).
/// - Annotation imports run alone on the writer as one transaction (they touch
///   counts that `next` reads; they are rare and small next to pair imports).
public struct ImportService: Sendable {
    let store: ArbiterStore

    public init(store: ArbiterStore) { self.store = store }

    /// Parsed pairs written per staging transaction.
    static let stagingChunk = 250
    /// Staged rows deleted per transaction when an import is discarded.
    static let discardChunk = 2_000

    // MARK: Server

    /// Stages `body` (JSONL pair lines) into project `projectID` and commits it in
    /// one step; refused (bad lines without `skipInvalid`) or a dry run, the staged
    /// rows are deleted and nothing was ever visible.
    public func pairs(
        projectID: Int, body: [UInt8], options: ImportOptions, actor: Int?, address: String,
        now: @escaping @Sendable () -> Int64, parse: ThreadPool? = nil
    ) async throws -> ImportReport {
        let (importID, kind) = try await store.pool.write { db in
            guard let project = try Projects.find(db, id: projectID) else { throw ServiceError.noSuchProject }
            return (try Imports.begin(db, projectID: projectID, actor: actor, now: now()), project.settings.kind)
        }
        var options = options
        options.taskKind = kind
        do {
            let report = try await stage(projectID: projectID, importID: importID, body: body, options: options, parse: parse)
            if options.dryRun || (report.errorCount > 0 && !options.skipInvalid) {
                try await discard(importID: importID, now: now)
                if report.errorCount > 0 && !options.skipInvalid && !options.dryRun { throw ImportRefused(report: report) }
                return report
            }
            var committed = report
            committed.committed = true
            try await store.pool.write { db in
                try Imports.commit(db, importID: importID, now: now())
                try AuditLog.record(
                    db, actor: actor, action: "import_pairs", target: "project:\(projectID)",
                    details: JSONObjectText(["imported": "\(report.imported)", "via": "api"]), address: address, now: now())
                try WebhookEvents.importFinished(db, projectID: projectID, kind: "pairs", report: report, via: "api", now: now())
            }
            return committed
        } catch let refused as ImportRefused {
            throw refused
        } catch {
            try? await discard(importID: importID, now: now)
            throw error
        }
    }

    /// Parses a chunk of lines (off the writer), writes it (on the writer, in the
    /// group commit), until the body is read.
    private func stage(
        projectID: Int, importID: Int64, body: [UInt8], options: ImportOptions, parse: ThreadPool?
    ) async throws -> ImportReport {
        let lines = PairLineBatches(body: body, options: options)
        var report = ImportReport()
        while true {
            let batch = try await Self.run(on: parse) { lines.next(maxPairs: Self.stagingChunk) }
            report.lines += batch.lines
            for (line, message) in batch.errors { report.record(line: line, message) }
            // After a refusal-worthy error, keep validating but stop writing.
            if !batch.parsed.isEmpty && (report.errorCount == 0 || options.skipInvalid) {
                let written = try await store.pool.write { db -> ImportReport in
                    let rows = try PairRows(db, projectID: projectID, importID: importID)
                    var written = ImportReport()
                    try rows.insert(lines: batch.parsed, into: &written)
                    return written
                }
                report.imported += written.imported
                report.duplicates += written.duplicates
                report.absorbErrors(of: written)
            }
            if batch.finished { return report }
        }
    }

    /// Deletes a staged import's rows in short transactions, then marks it discarded.
    func discard(importID: Int64, now: @escaping @Sendable () -> Int64) async throws {
        while try await store.pool.write({ db in try Imports.deleteStaged(db, importID: importID, limit: Self.discardChunk) }) > 0 {}
        try await store.pool.write { db in try Imports.finish(db, importID: importID, state: "discarded", now: now()) }
    }

    /// Imports left staging by a server that stopped midway: their rows go.
    public func discardAbandoned(now: @escaping @Sendable () -> Int64) async throws {
        for importID in try await store.pool.read({ db in try Imports.staging(db) }) {
            try await discard(importID: importID, now: now)
        }
    }

    /// Parses on `pool` at a lower priority than the event loops and the writer
    /// (Linux nice values are per thread), so an upload takes only spare CPU.
    private static func run<T: Sendable>(on pool: ThreadPool?, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        guard let pool else { return try body() }
        return try await pool.run {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, parseNiceness)
            return try body()
        }
    }

    /// Nice value of the parsing thread.
    static let parseNiceness: Int32 = 19

    // MARK: Command line

    /// Imports pair lines into `project` in one transaction on `db`, audited.
    public static func pairs(
        _ db: any Database, project: Project, reader: inout JSONLReader, options: ImportOptions, actor: Int?, now: Int64
    ) throws -> ImportReport {
        try PairImporter.run(db, projectID: project.id, reader: &reader, options: options) { report in
            try AuditLog.record(
                db, actor: actor, action: "import_pairs", target: "project:\(project.id)",
                details: JSONObjectText(["imported": "\(report.imported)", "via": "cli"]), now: now)
            try WebhookEvents.importFinished(db, projectID: project.id, kind: "pairs", report: report, via: "cli", now: now)
        }
    }

    /// Imports annotation lines into `project` in one transaction on `db`, audited.
    public static func annotations(
        _ db: any Database, project: Project, reader: inout JSONLReader, options: ImportOptions, actor: Int?, now: Int64
    ) throws -> ImportReport {
        try AnnotationImporter.run(db, project: project, reader: &reader, options: options) { report in
            try AuditLog.record(
                db, actor: actor, action: "import_annotations", target: "project:\(project.id)",
                details: JSONObjectText(["imported": "\(report.imported)", "via": "cli"]), now: now)
            try WebhookEvents.importFinished(db, projectID: project.id, kind: "annotations", report: report, via: "cli", now: now)
        }
    }

    /// Imports annotation lines from `body` alone on the server's writer, audited.
    public func annotations(
        projectID: Int, body: [UInt8], options: ImportOptions, actor: Int?, address: String,
        now: @escaping @Sendable () -> Int64
    ) async throws -> ImportReport {
        try await store.pool.exclusive { db -> ImportReport in
            guard let project = try Projects.find(db, id: projectID) else { throw ServiceError.noSuchProject }
            var reader = JSONLReader(bytes: body)
            return try AnnotationImporter.run(db, project: project, reader: &reader, options: options) { report in
                try AuditLog.record(
                    db, actor: actor, action: "import_annotations", target: "project:\(projectID)",
                    details: JSONObjectText(["imported": "\(report.imported)", "via": "api"]), address: address, now: now())
                try WebhookEvents.importFinished(db, projectID: projectID, kind: "annotations", report: report, via: "api", now: now())
            }
        }
    }
}

/// A pair-import body read in batches of parsed lines, one batch at a time.
final class PairLineBatches: @unchecked Sendable {
    // @unchecked Sendable: one import's task calls `next` once at a time, each call
    // finishing (on whichever thread) before the next starts.
    private var reader: JSONLReader
    private let parser: PairLineParser
    private var finished = false

    /// What one call read.
    struct Batch: Sendable {
        var parsed: [(line: Int, pairs: [PairInput])] = []
        var errors: [(line: Int, message: String)] = []
        var lines = 0
        var finished = false
    }

    init(body: [UInt8], options: ImportOptions) {
        reader = JSONLReader(bytes: body)
        parser = PairLineParser(limits: options.limits, pairsPerPrompt: options.pairsPerPrompt, taskKind: options.taskKind)
    }

    /// Lines up to about `maxPairs` pairs; blank lines skipped, as in one-transaction imports.
    func next(maxPairs: Int) -> Batch {
        var batch = Batch()
        var pairs = 0
        while !finished && pairs < maxPairs {
            let line: ArraySlice<UInt8>
            do {
                guard let next = try reader.nextLine() else { finished = true; break }
                line = next
            } catch {
                batch.errors.append((error.line, "longer than \(error.limit) bytes"))
                finished = true
                break
            }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            batch.lines += 1
            do throws(ValidationError) {
                let parsed = try parser.parse(line)
                batch.parsed.append((reader.lineNumber, parsed))
                pairs += parsed.count
            } catch {
                batch.errors.append((reader.lineNumber, error.message))
            }
        }
        batch.finished = finished
        return batch
    }
}
