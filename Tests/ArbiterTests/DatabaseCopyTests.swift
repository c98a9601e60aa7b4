@testable import Arbiter
import JSON
import Storage
import Testing
import TestSupport

/// `arbiter db copy`: SQLite → PostgreSQL → SQLite keeps every row (per-table
/// checksums equal on all three), refuses a non-empty target, and the copy is a
/// working database (sign-ins, new rows after the copied ids).
@Suite(.enabled(if: PostgresServer.available, "needs PostgreSQL: apt-get install postgresql"))
struct DatabaseCopyTests {
    let directory = TemporaryDirectory()

    @Test func aCopyThereAndBackKeepsEveryRowAndRefusesAFullTarget() async throws {
        let original = directory.path + "/original.sqlite"
        // Text COPY must escape: tabs, line breaks, backslashes, a literal \N, non-ASCII.
        let (seeded, demo) = try {
            let db = try ArbiterStore.openConnection(.sqlite(path: original), migrationsRoot: try Locations.migrationsDirectory(nil))
            let seeded = try DemoData.seed(db)
            let demo = try #require(try Projects.list(db).first?.project)
            var reader = JSONLReader(
                bytes: Array(
                    #"{"id":"awkward","prompt":"tab\there\nline\r\nback\\slash \\N \\. end","response_a":"ünïcödé 🙂","response_b":"\\x00ff"}"#
                        .utf8))
            #expect(try PairImporter.run(db, projectID: demo.id, reader: &reader, options: ImportOptions()).imported == 1)
            return (seeded, demo)
        }()
        let postgres = try PostgresServer.freshDatabase()

        let there = try CommandRunner.arbiter(["db", "copy", "--from", original, "--to", postgres, "--json"])
        #expect(there.status == 0, "\(there)")
        let report = try JSONValue.parse(there.stdout)
        #expect(report["verified"] == true)
        let tables = report["tables"]?.arrayValue ?? []
        #expect(tables.first { $0["name"] == "annotations" }?["rows"] == .int(Int64(seeded.judgements)))
        #expect(tables.first { $0["name"] == "pairs" }?["rows"] == .int(Int64(seeded.pairs + 1)))
        // Tables come after those they refer to.
        let order = tables.compactMap { $0["name"]?.stringValue }
        #expect(order.firstIndex(of: "projects")! < order.firstIndex(of: "pairs")!)
        #expect(order.firstIndex(of: "imports")! < order.firstIndex(of: "pairs")!)

        let back = directory.path + "/back.sqlite"
        let returned = try CommandRunner.arbiter(["db", "copy", "--from", postgres, "--to", back])
        #expect(returned.status == 0, "\(returned)")
        #expect(returned.stdout.contains("every table's checksum matches"))

        // The same rows on all three, by the checksums each engine computes itself.
        let sums = try [original, postgres, back].map { try DatabaseCopy.checksums(connect($0), derived: ArbiterStore.derivedTables) }
        #expect(sums[0] == sums[1])
        #expect(sums[0] == sums[2])
        #expect(sums[0].reduce(0) { $0 + $1.rows } > 100)

        // A full target is refused, and left as it was.
        let again = try CommandRunner.arbiter(["db", "copy", "--from", original, "--to", postgres])
        #expect(again.status != 0)
        #expect(again.stderr.split(separator: "\n").count == 1, "\(again)")
        #expect(again.stderr.contains("not empty"), "\(again)")
        #expect(try DatabaseCopy.checksums(connect(postgres), derived: ArbiterStore.derivedTables) == sums[0])

        // The copy serves: the demo admin signs in, and new rows get new ids.
        let app = try TestApp { $0.database = postgres }
        let admin = try #require(seeded.signIns.first { $0.role == .admin })
        let client = try app.client()
        let login = try client.request(
            "POST", "/api/login", headers: ["Content-Type": "application/json"],
            body: Array(#"{"username":"\#(admin.username)","password":"\#(admin.password)"}"#.utf8))
        #expect(login.status == 200)
        let token = try await app.user("newcomer", role: .admin)
        #expect(try app.call("POST", "/api/projects", token, #"{"name":"after the copy"}"#).status == 201)
        // The tally triggers, off while judgements were copied, are on again.
        let copied = try connect(postgres)
        #expect(
            try copied.queryFirst("SELECT prompt FROM pairs WHERE external_id = 'awkward'") { $0.string(0) }
                == "tab\there\nline\r\nback\\slash \\N \\. end")
        let annotator = try await app.user("judge")
        let (_, next) = try app.call("GET", "/api/projects/\(demo.id)/next", annotator)
        let leaseID = try #require(next["assignment"]?["id"]?.intValue)
        #expect(try app.call("POST", "/api/assignments/\(leaseID)/annotation", annotator, #"{"choice":"left"}"#).status == 201)
        let tallied = try copied.queryFirst(
            """
            SELECT p.judgements, (SELECT count(*) FROM annotations n WHERE n.pair_id = p.id AND n.kind <> 'repeat')
            FROM pairs p JOIN assignments a ON a.pair_id = p.id WHERE a.id = ?
            """, [.int(leaseID)]
        ) { ($0.int(0), $0.int(1)) }
        #expect(tallied != nil && tallied?.0 == tallied?.1, "\(String(describing: tallied))")
        await app.stop()
    }

    @Test func badTargetsAreOneLine() throws {
        let missing = try CommandRunner.arbiter([
            "db", "copy", "--from", directory.path + "/nope.sqlite", "--to", directory.path + "/x.sqlite",
        ])
        #expect(missing.status != 0)
        #expect(missing.stderr == "Error: \(directory.path)/nope.sqlite: no such database\n", "\(missing)")
        #expect(try CommandRunner.arbiter(["project", "list", "--db", directory.path + "/x.sqlite"]).status == 0)
        let unreachable = try CommandRunner.arbiter([
            "db", "copy", "--from", directory.path + "/x.sqlite", "--to", "postgres://nobody@127.0.0.1:1/none",
        ])
        #expect(unreachable.status != 0)
        #expect(unreachable.stderr.split(separator: "\n").count == 1, "\(unreachable)")
    }
}
