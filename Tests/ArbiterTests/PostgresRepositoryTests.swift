@testable import Arbiter
import Agreement
import Glibc
import JSON
import Storage
import Testing
import TestSupport

/// The repositories on PostgreSQL, through the same calls the services make:
/// people, a project, a pair import, a lease and a judgement, the dashboard,
/// agreement and the selection model's candidates (issue 19, first step; the
/// whole suite on both engines comes with `--db postgres://`).
@Suite(.serialized, .enabled(if: PostgresServer.available, "needs PostgreSQL: apt-get install postgresql"))
final class PostgresRepositoryTests {
    let server: PostgresServer

    init() throws { server = try PostgresServer() }

    @Test func theAnnotationLoopsRepositoriesRunOnPostgres() throws {
        let db = try PostgresDatabase(url: try server.database("repositories"))
        try Migrator(directory: RepositoryPaths.postgresMigrations).migrate(db)
        let alice = try Users.add(db, username: "Alice", role: .annotator)
        #expect(try Users.find(db, username: "ALICE")?.id == alice.id)
        #expect(performing: { try Users.add(db, username: "alice", role: .annotator) }, throws: { $0 is ValidationError })
        var settings = ProjectSettings()
        settings.overlap = 2
        let project = try db.transaction { try ProjectService.create(db, name: "p", settings: settings, actor: nil, via: "test", now: 0) }
        var reader = JSONLReader(
            bytes: Array(
                (0..<20).map { #"{"id":"p\#($0)","prompt":"q\#($0)","response_a":"a\#($0)","response_b":"b\#($0)"}"# }
                    .joined(separator: "\n").utf8))
        let report = try ImportService.pairs(db, project: project, reader: &reader, options: ImportOptions(), actor: nil, now: 0)
        #expect(report.imported == 20 && report.committed)
        var random = SystemRandomNumberGenerator()
        let assignment = try #require(
            try Assignments.next(
                db, projectID: project.id, userID: alice.id, membersOnly: false, now: 1000, sweep: LeaseSweep(), random: &random))
        #expect(
            try Assignments.next(
                db, projectID: project.id, userID: alice.id, membersOnly: false, now: 1000, sweep: LeaseSweep(), random: &random)?.id
                == assignment.id)
        let stored = try db.transaction {
            try Annotations.submit(
                db, assignmentID: assignment.id, userID: alice.id, submission: try Submission.parse(["choice": "left"]), now: 2000)
        }
        #expect(!stored.replayed && stored.annotation.choice == (assignment.shownSwapped ? .b : .a))
        let dashboard = try db.snapshot { try Dashboard.report(db, project: project, now: 3000) }
        #expect(dashboard.total == 20 && dashboard.inProgress == 1 && dashboard.untouched == 19)
        #expect(try AgreementService.agreement(db, projectID: project.id, bootstrap: 0).report.judgements == 1)
        #expect(try SelectionModels.candidates(db, projectID: project.id, sample: 5).count >= 1)
    }
}
