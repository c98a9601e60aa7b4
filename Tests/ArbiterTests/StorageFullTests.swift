@testable import Arbiter
import Glibc
import JSON
import Storage
import Testing
import TestSupport

/// A full disk is the client's "try again later", not a server error: writes get
/// `503 storage_full` with `Retry-After`, `/readyz` says not ready, `/metrics`
/// counts them, nothing half-written stays, and the server recovers by itself.
@Suite struct StorageFullTests {
    /// Makes every new write fail as a full disk does on `engine`: SQLite's own
    /// `SQLITE_FULL` (the writer's `max_page_count` pinned to the file's size, and
    /// the free space of the assignments' pages filled with expired leases of a
    /// stranger); on PostgreSQL, SQLSTATE 53100 raised by a trigger.
    func fill(_ app: TestApp, engine: TestEngine) async throws {
        switch engine {
        case .sqlite:
            try await app.seed { db in
                try db.run("CREATE TABLE IF NOT EXISTS filler (x BLOB)")
                let pages = try db.queryFirst("PRAGMA page_count") { $0.int(0) } ?? 1
                try db.run("PRAGMA max_page_count = \(pages)")
                // Fill what free space the last pages have, so any insert needs a new page.
                while (try? db.run("INSERT INTO filler VALUES (zeroblob(64))")) != nil {}
                while (try? db.run(
                    """
                    INSERT INTO assignments (project_id, pair_id, user_id, kind, shown_swapped, state, leased_at, expires_at)
                    SELECT p.project_id, p.id, u.id, 'normal', 0, 'expired', 0, 0 FROM pairs p, users u WHERE u.username = 'boss' LIMIT 1
                    """)) != nil
                {}
            }
        case .postgres:
            try await app.seed { db in
                try db.run(
                    """
                    CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS
                    $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$
                    """)
                try db.run("CREATE TRIGGER disk_full BEFORE INSERT OR UPDATE ON assignments FOR EACH ROW EXECUTE FUNCTION disk_full()")
            }
        }
    }

    func free(_ app: TestApp, engine: TestEngine) async throws {
        _ = try await app.seed { db in
            switch engine {
            case .sqlite: try db.run("PRAGMA max_page_count = 1073741823")
            case .postgres: try db.run("DROP TRIGGER disk_full ON assignments")
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func aFullDiskAnswers503AndRecovers(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 20) { $0.overlap = 1 }
        let ann = try await app.user("ann")
        let admin = try await app.user("boss", role: .admin)
        let (status, first) = try app.next(ann, project: project.id)
        #expect(status == 200)
        #expect(try app.submit(ann, assignment: try #require(first?["id"]?.intValue), #"{"choice":"left"}"#).0 == 201)

        try await fill(app, engine: engine)
        var refused: [RawClient.Response] = []
        for _ in 0..<5 {
            refused.append(try app.client().request("GET", "/api/projects/\(project.id)/next", headers: ["Authorization": "Bearer \(ann)"]))
        }
        for response in refused {
            #expect(response.status == 503, "\(response)")
            #expect(response.bodyText.contains(#""code":"storage_full""#))
            #expect(response.header("retry-after") == "\(StorageFullMonitor.retryAfter)")
        }
        #expect(try app.client().request("GET", "/readyz").status == 503, "a node that cannot write is not ready")
        let scrape = try app.client().request("GET", "/metrics", headers: ["Authorization": "Bearer \(admin)"]).bodyText
        #expect(scrape.contains("arbiter_storage_full_total 5"), "\(scrape.split(separator: "\n").filter { $0.contains("storage") })")
        #expect(
            try await app.count("SELECT count(*) FROM assignments a JOIN users u ON u.id = a.user_id WHERE u.username = 'ann'") == 1,
            "nothing half-written")

        try await free(app, engine: engine)
        let (after, lease) = try app.next(ann, project: project.id)
        #expect(after == 200 && lease != nil, "writes work again once space returns")
        var ready = 0
        for _ in 0..<100 where ready != 200 {  // not ready for a few seconds after the last refusal
            ready = try app.client().request("GET", "/readyz").status
            if ready != 200 { usleep(100_000) }
        }
        #expect(ready == 200)
        await app.stop()
    }
}
