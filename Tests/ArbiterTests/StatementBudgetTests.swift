@testable import Arbiter
import JSON
import Storage
import Testing
import TestSupport

/// What one judgement costs the database: the statements the server sends for
/// `next` and its submit (transactions' `BEGIN`/`COMMIT` included), counted by the
/// app's own pool. On PostgreSQL each is a round trip to a backend, and the
/// budget is six (`docs/BENCHMARKS.md`, "Statements per judgement").
@Suite struct StatementBudgetTests {
    @Test(arguments: TestEngine.all)
    func aJudgementCostsAtMostSixStatements(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 40) { $0.overlap = 3 }
        var tokens: [String] = []
        for index in 0..<4 { tokens.append(try await app.user("ann\(index)")) }
        let client = try app.client()
        func cycle(_ token: String) throws {
            let next = try client.request("GET", "/api/projects/\(project.id)/next", headers: ["Authorization": "Bearer \(token)"])
            try #require(next.status == 200)
            let id = try #require(try JSONValue.parse(next.body)["assignment"]?["id"]?.intValue)
            let submitted = try client.request(
                "POST", "/api/assignments/\(id)/annotation",
                headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"], body: Array(#"{"choice":"left"}"#.utf8))
            try #require(submitted.status == 201)
        }
        // Warm: each token authenticated (cached) and the statements prepared.
        for token in tokens { try cycle(token) }
        let before = app.app.store.pool.statements.total
        let judgements = 20
        for round in 0..<judgements { try cycle(tokens[round % tokens.count]) }
        let perJudgement = Double(app.app.store.pool.statements.total - before) / Double(judgements)
        // PostgreSQL: `next` is two statements and its submit two, none of them
        // BEGIN/COMMIT. SQLite runs the same six statements, each request in a
        // transaction of the writer's: one at a time, as here, that is a BEGIN and
        // a COMMIT per request; under load a group commit shares them.
        let budget = engine == .postgres ? 6.0 : 6.0 + 4.0
        #expect(perJudgement <= budget, "statements per judgement on \(engine): \(perJudgement)")
        await app.stop()
    }
}
