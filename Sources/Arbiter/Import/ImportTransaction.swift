import Storage

/// What every one-transaction import shares: one write transaction over all
/// lines, line numbers, blank lines skipped, over-long lines reported, and at the
/// end a commit — or a rollback for a dry run or a refusal (which then throws
/// ``ImportRefused``). A crash midway leaves the database as it was. Inside a
/// transaction already open (the demo seeds a project in one), the same steps run
/// in a savepoint, so the caller's transaction decides.
enum ImportTransaction {
    /// Unwinds the transaction with the report of what would have been written.
    private struct Discard: Error {
        let report: ImportReport
    }

    /// Runs `handle` for each non-blank line. `handle` validates and, while the
    /// import may still write (`writing`), writes; it records problems in the report.
    static func run(
        _ db: any Database, reader: inout JSONLReader, options: ImportOptions, beforeCommit: (ImportReport) throws -> Void = { _ in },
        handle: (_ line: ArraySlice<UInt8>, _ number: Int, _ writing: Bool, _ report: inout ImportReport) throws -> Void
    ) throws -> ImportReport {
        func body(_ reader: inout JSONLReader) throws -> ImportReport {
            var report = ImportReport()
            while true {
                let line: ArraySlice<UInt8>
                do {
                    guard let next = try reader.nextLine() else { break }
                    line = next
                } catch {
                    report.record(line: error.line, "longer than \(error.limit) bytes")
                    break
                }
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                report.lines += 1
                // After a refusal-worthy error, keep validating but stop writing.
                try handle(line, reader.lineNumber, report.errorCount == 0 || options.skipInvalid, &report)
            }
            if options.dryRun || (report.errorCount > 0 && !options.skipInvalid) { throw Discard(report: report) }
            try beforeCommit(report)
            report.committed = true
            return report
        }
        do {
            return db.inTransaction
                ? try db.savepoint("import") { try body(&reader) }
                : try db.transaction { try body(&reader) }
        } catch let discarded as Discard {
            if discarded.report.errorCount > 0 && !options.skipInvalid && !options.dryRun { throw ImportRefused(report: discarded.report) }
            return discarded.report
        }
    }
}
