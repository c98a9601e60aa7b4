import Arbiter
import JSON
import Storage
import Testing
import TestSupport

/// `arbiter generate` against local fake endpoints, on both engines: prompts
/// become pairs (or one task) with the models named, a second run skips what is
/// there, a failing endpoint is reported and nothing half-written.
@Suite struct GenerateTests {
    let directory = TemporaryDirectory()

    func endpointsFile(_ fake: FakeOpenAIServer) -> String {
        directory.write(
            "endpoints.json",
            """
            {"endpoints": [
              {"name": "small", "base_url": "\(fake.baseURL)", "model": "echo-3", "temperature": 0.2},
              {"name": "large", "base_url": "\(fake.baseURL)", "model": "echo-6", "api_key_env": "ARBITER_TEST_KEY"},
              {"name": "medium", "base_url": "\(fake.baseURL)", "model": "echo-4", "api_key": "secret-key"},
              {"name": "broken", "base_url": "\(fake.baseURL)", "model": "fail"}
            ]}
            """)
        return directory.path + "/endpoints.json"
    }

    @Test(arguments: TestEngine.all)
    func generatesPairsAndTasks(engine: TestEngine) throws {
        let fake = try FakeOpenAIServer(delayMs: 1)
        let db = try engine.freshDatabase(in: directory.path)
        let endpoints = endpointsFile(fake)
        directory.write(
            "prompts.jsonl",
            """
            {"id": "q1", "prompt": "Name a prime."}
            {"id": "q2", "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}]}
            {"prompt": "No id given."}
            """)
        let prompts = directory.path + "/prompts.jsonl"
        #expect(try CommandRunner.arbiter(["project", "create", "--db", db, "--name", "pw"]).status == 0)
        #expect(try CommandRunner.arbiter(["project", "create", "--db", db, "--name", "rank", "--kind", "ranking"]).status == 0)
        let environment = ["ARBITER_TEST_KEY": "key-from-env"]
        let first = try CommandRunner.arbiter(
            [
                "generate", "--db", db, "--project", "pw", "--endpoints-file", endpoints,
                "--endpoints", "small,large,medium", "--prompts", prompts, "--json",
            ], environment: environment)
        #expect(first.status == 0, "\(first)")
        let report = try JSONValue.parse(first.stdout)
        #expect(report["generated"] == 3 && report["rows"] == 9 && report["skipped"] == 0, "three prompts × three pairs: \(report)")
        // The models are named on every pair; the key from the environment was sent.
        let inspect = try connect(db)
        let models = try inspect.query("SELECT model_a, model_b FROM pairs ORDER BY external_id", []) { "\($0.string(0))-\($0.string(1))" }
        #expect(Set(models) == ["small-large", "small-medium", "large-medium"] && models.count == 9)
        #expect(try inspect.queryFirst("SELECT count(*) FROM pairs WHERE external_id = 'q1:small-large'", []) { $0.int(0) } == 1)
        #expect(fake.requests.contains { $0["model"] == "echo-3" && $0["temperature"] == .double(0.2) })
        // Again: everything is there, nothing asked.
        let before = fake.requests.count
        let again = try CommandRunner.arbiter(
            [
                "generate", "--db", db, "--project", "pw", "--endpoints-file", endpoints,
                "--endpoints", "small,large,medium", "--prompts", prompts, "--json",
            ], environment: environment)
        let againReport = try JSONValue.parse(again.stdout)
        #expect(again.status == 0 && againReport["skipped"] == 3, "\(again)")
        #expect(fake.requests.count == before)
        // A failing endpoint: reported in one line, exit non-zero, nothing written for it.
        let failed = try CommandRunner.arbiter(
            [
                "generate", "--db", db, "--project", "rank", "--endpoints-file", endpoints,
                "--endpoints", "small,broken", "--prompts", prompts,
            ], environment: environment)
        #expect(failed.status != 0 && failed.stderr.split(separator: "\n").count == 1, "\(failed)")
        #expect(failed.stderr.contains("broken answered 500: the model is overloaded") && failed.stderr.contains("run again"))
        #expect(
            try inspect.queryFirst("SELECT count(*) FROM pairs p JOIN projects j ON j.id = p.project_id WHERE j.name = 'rank'", []) {
                $0.int(0)
            } == 0)
        // A ranking project: one task per prompt with every response.
        let ranked = try CommandRunner.arbiter(
            [
                "generate", "--db", db, "--project", "rank", "--endpoints-file", endpoints,
                "--endpoints", "small,large,medium", "--prompts", prompts, "--json",
            ], environment: environment)
        #expect(ranked.status == 0, "\(ranked)")
        let task = try #require(
            try inspect.queryFirst(
                "SELECT p.responses, p.models FROM pairs p JOIN projects j ON j.id = p.project_id WHERE j.name = 'rank' AND p.external_id = 'q1'",
                []
            ) {
                ($0.string(0), $0.string(1))
            })
        #expect(task.1 == #"["small","large","medium"]"#)
        #expect((try JSONValue.parse(Array(task.0.utf8))).arrayValue?.count == 3)
        // Judged, the generated tasks' implied pairs are battles for the leaderboard.
        directory.write(
            "rankings.jsonl",
            [
                #"{"task":"q1","annotator":"r1","ranking":[1,2,0]}"#, #"{"task":"q2","annotator":"r1","ranking":[1,2,0]}"#,
                #"{"task":"q1","annotator":"r2","ranking":[0,1,2]}"#, #"{"task":"q2","annotator":"r2","ranking":[2,1,0]}"#,
            ].joined(separator: "\n") + "\n")
        #expect(
            try CommandRunner.arbiter(["import", "annotations", "--db", db, "--project", "rank", directory.path + "/rankings.jsonl"]).status
                == 0)
        let board = try CommandRunner.arbiter(["leaderboard", "--db", db, "--project", "rank", "--json", "--bootstrap", "20"])
        #expect(board.status == 0, "\(board)")
        let leaderboard = try JSONValue.parse(board.stdout)
        #expect(leaderboard["battles"] == 12, "four rankings of three: \(leaderboard)")
        #expect(leaderboard["models"]?.arrayValue?.count == 3 && leaderboard["models"]?.arrayValue?.allSatisfy { $0["votes"] == 8 } == true)
        #expect(leaderboard["models"]?.arrayValue?.first?["model"] == "large", "\(leaderboard)")
        // Bad input: one line each.
        for (arguments, message) in [
            (["--endpoints", "small,nobody"], "no endpoint named 'nobody'"),
            (["--endpoints", "small"], "at least two"),
        ] {
            let refused = try CommandRunner.arbiter(
                ["generate", "--db", db, "--project", "pw", "--endpoints-file", endpoints, "--prompts", prompts]
                    + arguments, environment: environment)
            #expect(
                refused.status != 0 && refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains(message), "\(refused)")
        }
        let missingKey = try CommandRunner.arbiter([
            "generate", "--db", db, "--project", "pw", "--endpoints-file", endpoints,
            "--endpoints", "small,large", "--prompts", prompts,
        ])
        #expect(missingKey.status != 0 && missingKey.stderr.contains("ARBITER_TEST_KEY is not set"), "\(missingKey)")
    }
}
