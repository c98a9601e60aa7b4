@testable import Arbiter
import Storage
import Testing
import TestSupport

/// A migrated database in a temporary directory.
final class TestDatabase {
    let directory = TemporaryDirectory()
    let db: any Database
    /// The SQLite file or the PostgreSQL URL.
    let path: String

    init(engine: TestEngine = .sqlite) throws {
        path = try engine.freshDatabase(in: directory.path)
        db = try ArbiterStore.openConnection(DatabaseLocation(path), migrationsRoot: try Locations.migrationsDirectory(nil))
    }

    func project(_ name: String = "p", _ configure: (inout ProjectSettings) -> Void = { _ in }) throws -> Project {
        var settings = ProjectSettings()
        configure(&settings)
        return try Projects.create(db, name: name, settings: settings)
    }

    func importPairs(_ lines: [String], into project: Project, _ configure: (inout ImportOptions) -> Void = { _ in }) throws -> ImportReport
    {
        var options = ImportOptions()
        configure(&options)
        var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
        return try PairImporter.run(db, projectID: project.id, reader: &reader, options: options)
    }

    func importAnnotations(
        _ lines: [String], into project: Project, _ configure: (inout ImportOptions) -> Void = { _ in }
    ) throws -> ImportReport {
        var options = ImportOptions()
        configure(&options)
        var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
        return try AnnotationImporter.run(db, project: project, reader: &reader, options: options)
    }

    func count(_ sql: String) throws -> Int { try db.queryFirst(sql) { $0.int(0) } ?? -1 }
}

@Suite struct PairImporterTests {
    @Test(arguments: TestEngine.all)
    func importsEveryFormatAndDeduplicates(engine: TestEngine) throws {
        let test = try TestDatabase(engine: engine)
        let project = try test.project()
        let report = try test.importPairs(
            [
                #"{"id":"p1","prompt":"q1","response_a":"a","response_b":"b"}"#,
                #"{"prompt":"q2","chosen":"good","rejected":"bad"}"#,
                #"{"id":"m","prompt":"q3","responses":["x","y","z"]}"#,
                #"{"chosen":"\n\nHuman: hi\n\nAssistant: hello","rejected":"\n\nHuman: hi\n\nAssistant: go away"}"#,
                "",
                #"{"id":"p1","prompt":"q1","response_a":"a","response_b":"b"}"#,  // same id, same content
                #"{"id":"p1-again","prompt":"q1","response_a":"b","response_b":"a"}"#,  // same content, other order
            ], into: project)
        #expect(report.lines == 6)
        #expect(report.imported == 6)
        #expect(report.duplicates == 2)
        #expect(report.committed)
        #expect(try test.count("SELECT count(*) FROM pairs") == 6)
        #expect(try test.count("SELECT count(*) FROM pairs WHERE prompt_is_messages = 1") == 1)
        #expect(try test.count("SELECT count(*) FROM pairs WHERE external_id LIKE 'sha256:%'") == 2)
    }

    @Test(arguments: TestEngine.all)
    func aBadLineRefusesTheWholeImport(engine: TestEngine) throws {
        let test = try TestDatabase(engine: engine)
        let project = try test.project()
        var lines = [#"{"id":"ok","prompt":"q","response_a":"a","response_b":"b"}"#]
        lines.append(#"{"id":"bad","prompt":"q","response_a":"a"}"#)
        lines.append("not json")
        for index in 0..<30 { lines.append(#"{"id":"x\#(index)","prompt":"q","response_a":"same","response_b":"same"}"#) }
        do {
            _ = try test.importPairs(lines, into: project)
            Issue.record("accepted")
        } catch let refused as ImportRefused {
            #expect(refused.report.errorCount == 32)
            #expect(refused.report.errors.count == 20)
            #expect(refused.report.errors[0] == "line 2: response_b: missing")
            #expect(refused.report.errors[1].hasPrefix("line 3: invalid JSON"))
        }
        #expect(try test.count("SELECT count(*) FROM pairs") == 0, "nothing written")
    }

    @Test(arguments: TestEngine.all)
    func skipInvalidImportsTheGoodLines(engine: TestEngine) throws {
        let test = try TestDatabase(engine: engine)
        let project = try test.project()
        let report = try test.importPairs(
            [
                #"{"id":"ok","prompt":"q","response_a":"a","response_b":"b"}"#, #"{"id":"bad"}"#,
                #"{"id":"ok2","prompt":"q2","response_a":"a","response_b":"b"}"#,
            ], into: project
        ) { $0.skipInvalid = true }
        #expect(report.imported == 2)
        #expect(
            report.errors == [
                #"line 2: not a pair: expected response_a/response_b, prompt/chosen/rejected, prompt/responses, or chosen/rejected transcripts"#
            ])
        #expect(try test.count("SELECT count(*) FROM pairs") == 2)
    }

    @Test(arguments: TestEngine.all)
    func dryRunWritesNothing(engine: TestEngine) throws {
        let test = try TestDatabase(engine: engine)
        let project = try test.project()
        let report = try test.importPairs([#"{"id":"ok","prompt":"q","response_a":"a","response_b":"b"}"#], into: project) {
            $0.dryRun = true
        }
        #expect(report.imported == 1)
        #expect(!report.committed)
        #expect(try test.count("SELECT count(*) FROM pairs") == 0)
    }

    @Test(arguments: TestEngine.all)
    func reusedIdWithOtherContentIsAnError(engine: TestEngine) throws {
        let test = try TestDatabase(engine: engine)
        let project = try test.project()
        _ = try test.importPairs([#"{"id":"p1","prompt":"q","response_a":"a","response_b":"b"}"#], into: project)
        #expect(throws: ImportRefused.self) {
            _ = try test.importPairs([#"{"id":"p1","prompt":"other","response_a":"a","response_b":"b"}"#], into: project)
        }
        #expect(try test.count("SELECT count(*) FROM pairs") == 1)
    }
}

@Suite struct AnnotationImporterTests {
    @Test(arguments: TestEngine.all)
    func importsJudgementsCreatesRatersAndMarksRepeats(engine: TestEngine) throws {
        let test = try TestDatabase(engine: engine)
        let project = try test.project { $0.aspects = ["helpfulness"] }
        _ = try test.importPairs(
            [
                #"{"id":"p1","prompt":"q","response_a":"a","response_b":"b"}"#,
                #"{"id":"p2","prompt":"q2","response_a":"a","response_b":"b"}"#,
            ], into: project)
        let report = try test.importAnnotations(
            [
                #"{"pair":"p1","annotator":"ann","choice":"A","strength":2,"shown_swapped":true,"duration_ms":4200,"created_at":"2026-01-02T03:04:05Z","aspects":{"helpfulness":"A"},"rationale":"clearer"}"#,
                #"{"pair":"p1","annotator":"bob","choice":"tie"}"#,
                #"{"pair":"p1","annotator":"ann","choice":"B","created_at":"2026-01-03T00:00:00Z"}"#,
                #"{"pair":"p1","annotator":"ann","choice":"A","strength":2,"shown_swapped":true,"duration_ms":4200,"created_at":"2026-01-02T03:04:05Z","aspects":{"helpfulness":"A"},"rationale":"clearer"}"#,
            ], into: project)
        #expect(report.imported == 3)
        #expect(report.duplicates == 1)
        #expect(try test.count("SELECT count(*) FROM users WHERE can_log_in = 0") == 2)
        #expect(try test.count("SELECT count(*) FROM annotations WHERE kind = 'repeat'") == 1)
        #expect(try test.count("SELECT active_count FROM pairs WHERE external_id = 'p1'") == 2)
        let stored = try test.db.queryFirst("SELECT created_at, shown_swapped, duration_ms, aspects FROM annotations WHERE id = 1") {
            "\($0.string(0)) \($0.int(1)) \($0.int(2)) \($0.string(3))"
        }
        #expect(stored == #"2026-01-02T03:04:05Z 1 4200 {"helpfulness":"A"}"#)
    }

    @Test(arguments: [
        (#"{"pair":"nope","annotator":"a","choice":"A"}"#, "line 1: pair: no pair 'nope'"),
        (#"{"pair":"p1","annotator":"a","choice":"left"}"#, "line 1: choice: expected"),
        (#"{"pair":"p1","annotator":"a","choice":"A","strength":4}"#, "line 1: strength: expected 1, 2 or 3"),
        (#"{"pair":"p1","annotator":"a","choice":"tie","strength":2}"#, "line 1: strength: only for A or B"),
        (#"{"pair":"p1","annotator":"a","choice":"A","created_at":"yesterday"}"#, "line 1: created_at"),
        (#"{"pair":"p1","annotator":"a","choice":"A","aspects":{"speed":"A"}}"#, "line 1: aspects: 'speed'"),
        (#"{"pair":"p1","annotator":"a","choice":"A","mood":"happy"}"#, "line 1: unknown field 'mood'"),
        (#"{"pair":"p1","annotator":"a b","choice":"A"}"#, "line 1: annotator: usernames may contain"),
        (#"{"pair":"p1","choice":"A"}"#, "line 1: annotator: expected a name"),
    ])
    func badAnnotationLines(line: String, message: String) throws {
        let test = try TestDatabase()
        let project = try test.project()
        _ = try test.importPairs([#"{"id":"p1","prompt":"q","response_a":"a","response_b":"b"}"#], into: project)
        do {
            _ = try test.importAnnotations([line], into: project)
            Issue.record("accepted \(line)")
        } catch let refused as ImportRefused {
            #expect(refused.report.errors.first?.hasPrefix(message) == true, "got \(refused.report.errors)")
        }
        #expect(try test.count("SELECT count(*) FROM annotations") == 0)
        #expect(try test.count("SELECT count(*) FROM users") == 0)
    }
}
