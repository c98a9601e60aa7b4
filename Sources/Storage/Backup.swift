import CSQLite
import Glibc

/// Online backups through SQLite's backup API (https://sqlite.org/backup.html):
/// pages are copied a batch at a time, so the server keeps taking writes; if a
/// write lands mid-copy, SQLite restarts the copy, and the result is always one
/// consistent snapshot.
public enum Backup {
    /// What a backup or restore did.
    public struct Report: Sendable {
        public var pages: Int
        public var bytes: Int
        public var restarts: Int
    }

    /// Copies the database at `source` into a new file `destination` (written
    /// beside it as `destination.partial`, checked with `integrity_check`, then
    /// renamed into place, so a half-written backup never carries the final name).
    public static func create(from source: String, to destination: String, pagesPerStep: Int32 = 4096) throws -> Report {
        let partial = destination + ".partial"
        unlink(partial)
        do {
            let from = try SQLiteDatabase(path: source, mode: .reader)
            let report = try copy(from: from, toPath: partial, pagesPerStep: pagesPerStep)
            let check = try SQLiteDatabase(path: partial, mode: .reader)
            let verdict = try check.queryFirst("PRAGMA integrity_check") { $0.string(0) }
            guard verdict == "ok" else {
                throw SQLiteError(
                    resultCode: SQLITE_CORRUPT, extendedCode: SQLITE_CORRUPT, message: "backup failed integrity_check: \(verdict ?? "?")",
                    sql: nil)
            }
            guard rename(partial, destination) == 0 else {
                throw SQLiteError(
                    resultCode: SQLITE_CANTOPEN, extendedCode: SQLITE_CANTOPEN,
                    message: "cannot rename the backup into place: \(String(cString: strerror(errno)))", sql: nil)
            }
            return report
        } catch {
            unlink(partial)
            throw error
        }
    }

    /// Copies `source` (a backup) over the database at `destination`. The server
    /// must not be running on `destination`.
    public static func restore(from source: String, to destination: String) throws -> Report {
        let from = try SQLiteDatabase(path: source, mode: .reader)
        let verdict = try from.queryFirst("PRAGMA integrity_check") { $0.string(0) }
        guard verdict == "ok" else {
            throw SQLiteError(
                resultCode: SQLITE_CORRUPT, extendedCode: SQLITE_CORRUPT, message: "\(source) failed integrity_check: \(verdict ?? "?")",
                sql: nil)
        }
        return try copy(from: from, toPath: destination, pagesPerStep: -1)
    }

    static func copy(from: SQLiteDatabase, toPath path: String, pagesPerStep: Int32) throws -> Report {
        let to = try SQLiteDatabase(path: path)
        guard let backup = sqlite3_backup_init(to.handle, "main", from.handle, "main") else {
            throw SQLiteError(connection: to.handle, code: sqlite3_errcode(to.handle), sql: nil)
        }
        var restarts = 0
        var previousRemaining = Int32.max
        while true {
            let code = sqlite3_backup_step(backup, pagesPerStep)
            if code == SQLITE_DONE { break }
            if code == SQLITE_OK || code == SQLITE_BUSY || code == SQLITE_LOCKED {
                let remaining = sqlite3_backup_remaining(backup)
                if remaining > previousRemaining { restarts += 1 }
                previousRemaining = remaining
                if code != SQLITE_OK { usleep(5_000) }
                continue
            }
            sqlite3_backup_finish(backup)
            throw SQLiteError(connection: to.handle, code: code, sql: nil)
        }
        let pages = Int(sqlite3_backup_pagecount(backup))
        let finish = sqlite3_backup_finish(backup)
        guard finish == SQLITE_OK else { throw SQLiteError(connection: to.handle, code: finish, sql: nil) }
        let pageSize = try to.queryFirst("PRAGMA page_size") { $0.int(0) } ?? 4096
        // Leave a single self-contained file (no -wal beside it).
        try to.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return Report(pages: pages, bytes: pages * pageSize, restarts: restarts)
    }
}
