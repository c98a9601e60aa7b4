import Storage

/// What every import shares: one `BEGIN IMMEDIATE` transaction over all lines,
/// line numbers, blank lines skipped, over-long lines reported, and at the end
/// COMMIT — or ROLLBACK for a dry run or a refusal (which then throws
/// ``ImportRefused``). A crash midway leaves the database as it was. Inside a
/// transaction already open (the demo seeds a project in one), the same steps run
/// as a savepoint, so the caller's transaction decides.
enum ImportTransaction {
    /// Runs `handle` for each non-blank line. `handle` validates and, while the
    /// import may still write (`writing`), writes; it records problems in the report.
    static func run(
        _ db: any Database, reader: inout JSONLReader, options: ImportOptions, beforeCommit: (ImportReport) throws -> Void = { _ in },
        handle: (_ line: ArraySlice<UInt8>, _ number: Int, _ writing: Bool, _ report: inout ImportReport) throws -> Void
    ) throws -> ImportReport {
        var report = ImportReport()
        let nested = db.inTransaction
        try db.execute(nested ? "SAVEPOINT import" : "BEGIN IMMEDIATE")
        func rollback() throws { try db.execute(nested ? "ROLLBACK TO import; RELEASE import" : "ROLLBACK") }
        do {
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
            if options.dryRun || (report.errorCount > 0 && !options.skipInvalid) {
                try rollback()
                if report.errorCount > 0 && !options.skipInvalid && !options.dryRun { throw ImportRefused(report: report) }
                return report
            }
            try beforeCommit(report)
            try db.execute(nested ? "RELEASE import" : "COMMIT")
            report.committed = true
            return report
        } catch {
            if db.inTransaction { try? rollback() }
            throw error
        }
    }
}
