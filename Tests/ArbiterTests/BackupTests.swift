import Glibc
import JSON
import Storage
import Synchronization
import Testing
import TestSupport

/// `arbiter backup` while the server takes writes, and `arbiter restore`.
@Suite struct BackupTests {
    /// Every row of every table, as text (quote() of each column), in rowid order.
    static func dump(_ path: String) throws -> [String: [String]] {
        let db = try SQLiteDatabase(path: path, mode: .reader)
        // Ordinary tables (a full-text index is a virtual table whose shadow tables are listed).
        let tables = try db.query(
            "SELECT name, wr FROM pragma_table_list WHERE schema = 'main' AND type IN ('table', 'shadow') AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ) { ($0.string(0), $0.bool(1)) }
        var result: [String: [String]] = [:]
        for (table, withoutRowid) in tables {
            let columns = try db.query("SELECT name FROM pragma_table_info(?)", [.text(table)]) { $0.string(0) }
            let expression = columns.map { "quote(\"\($0)\")" }.joined(separator: " || ',' || ")
            result[table] = try db.query("SELECT \(expression) AS r FROM \"\(table)\" ORDER BY \(withoutRowid ? "r" : "rowid")") {
                $0.string(0)
            }
        }
        return result
    }

    @Test func backupWhileWritingThenRestore() throws {
        let directory = TemporaryDirectory()
        let db = directory.path + "/live.sqlite"
        #expect(try CommandRunner.arbiter(["project", "create", "--db", db, "--name", "p"]).status == 0)
        directory.write(
            "pairs.jsonl",
            (0..<3000).map { #"{"id":"p\#($0)","prompt":"q\#($0)","response_a":"a\#($0)","response_b":"b\#($0)"}"# }
                .joined(separator: "\n"))
        #expect(try CommandRunner.arbiter(["import", "pairs", "--db", db, "--project", "p", directory.path + "/pairs.jsonl"]).status == 0)
        var tokens: [String] = []
        for index in 0..<8 {
            _ = try CommandRunner.arbiter(["user", "add", "--db", db, "--username", "a\(index)", "--role", "annotator"])
            tokens.append(
                String(
                    try CommandRunner.arbiter(["token", "create", "--db", db, "--username", "a\(index)"]).stdout.split(separator: "\n")
                        .first ?? ""))
        }
        let server = try ServerProcess(["serve", "--port", "0", "--log-level", "notice", "--db", db])
        let acknowledged = Atomic<Int>(0)
        let port = server.port
        let clients = tokens
        let group = Threads.start(clients.count) { index in
            CrashDurabilityTests.annotate(port: port, token: clients[index]) { _ in acknowledged.add(1, ordering: .relaxed) }
        }
        var waited = 0
        while acknowledged.load(ordering: .relaxed) < 200 && waited < 3000 {
            usleep(10_000)
            waited += 1
        }
        let backup = directory.path + "/backup.sqlite"
        let made = try CommandRunner.arbiter(["backup", "--db", db, "--out", backup])
        #expect(made.status == 0, "\(made)")
        #expect(made.stdout.contains("integrity ok"))
        // The server kept taking writes during and after the backup.
        let during = acknowledged.load(ordering: .relaxed)
        waited = 0
        while acknowledged.load(ordering: .relaxed) < during + 50 && waited < 1000 {
            usleep(10_000)
            waited += 1
        }
        #expect(acknowledged.load(ordering: .relaxed) >= during + 50, "writes go on after the backup")
        server.signal(SIGTERM)
        #expect(server.waitForExit() == 0)
        group.wait()

        // The backup is a consistent snapshot: every row it holds is in the live
        // database unchanged (these tables only grow while annotators work).
        let snapshot = try Self.dump(backup)
        let live = try Self.dump(db)
        let annotations = snapshot["annotations"] ?? []
        #expect(annotations.count >= 200)
        #expect(annotations.count < (live["annotations"] ?? []).count)
        let prefixMatches = Array((live["annotations"] ?? []).prefix(annotations.count)) == annotations
        #expect(prefixMatches, "the backup's annotations are the live database's first rows, unchanged")
        #expect(snapshot["pairs"]?.count == 3000, "pairs (their active_count changes as annotators work)")

        // Restore into a new file: identical to the backup, and it serves.
        let restored = directory.path + "/restored.sqlite"
        let restore = try CommandRunner.arbiter(["restore", "--backup", backup, "--db", restored])
        #expect(restore.status == 0, "\(restore)")
        let restoredMatches = try Self.dump(restored) == snapshot
        #expect(restoredMatches, "the restored file holds exactly the backup's rows")
        let again = try ServerProcess(["serve", "--port", "0", "--log-level", "notice", "--db", restored])
        let (status, _) = try CrashDurabilityTests.next(RawClient(port: again.port), token: tokens[0])
        #expect(status == 200)
        again.signal(SIGTERM)
        #expect(again.waitForExit() == 0)

        // Refusals: one line, non-zero, nothing overwritten.
        for (arguments, message) in [
            (["backup", "--db", db, "--out", backup], "exists"),
            (["backup", "--db", directory.path + "/nope.sqlite", "--out", directory.path + "/x.sqlite"], "no such database"),
            (["restore", "--backup", backup, "--db", db], "--force"),
            (["restore", "--backup", directory.path + "/pairs.jsonl", "--db", directory.path + "/y.sqlite"], ""),
        ] {
            let refused = try CommandRunner.arbiter(arguments)
            #expect(refused.status != 0, "\(arguments)")
            #expect(refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains(message), "\(arguments): \(refused.stderr)")
        }
        let untouched = try Self.dump(backup) == snapshot
        #expect(untouched, "a refused command changed nothing")
    }
}
