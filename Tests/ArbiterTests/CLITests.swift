import Arbiter
import Glibc
import JSON
import Storage
import Testing
import TestSupport

/// The command-line contract (DESIGN.md): output shapes, one-line errors, exit
/// codes, and an untouched database after a refusal.
@Suite struct CLITests {
    let directory = TemporaryDirectory()
    var db: String { directory.path + "/cli.sqlite" }

    func arbiter(_ arguments: String...) throws -> CommandRunner.Result {
        try CommandRunner.arbiter(arguments.map { $0 == "DB" ? db : $0 })
    }

    /// `user passwd`: the new password signs in, the old one does not; refusals are one line.
    @Test func userPasswdSetsAPassword() throws {
        #expect(
            try CommandRunner.arbiter(
                ["user", "add", "--db", db, "--username", "ann", "--role", "annotator", "--password-stdin"],
                stdin: "the first password\n"
            ).status == 0)
        let changed = try CommandRunner.arbiter(
            ["user", "passwd", "--db", db, "--username", "ann", "--password-stdin"], stdin: "the second password\n")
        #expect(changed.status == 0, "\(changed)")
        #expect(changed.stdout == "password set for 'ann'; their sessions have ended\n")
        for (arguments, stdin, message) in [
            (["--username", "ghost", "--password-stdin"], "long enough password\n", "no user named 'ghost'"),
            (["--username", "ann", "--password-stdin"], "short\n", "at least 10 characters"),
            (["--username", "ann"], nil, "stdin is not a terminal: pipe the password in with --password-stdin"),
        ] as [([String], String?, String)] {
            let refused = try CommandRunner.arbiter(["user", "passwd", "--db", db] + arguments, stdin: stdin)
            #expect(refused.status != 0)
            #expect(refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains(message), "\(refused)")
        }
        let server = try ServerProcess(["serve", "--port", "0", "--log-level", "notice", "--db", db])
        func login(_ password: String) throws -> Int {
            try RawClient(port: server.port).request(
                "POST", "/api/login", headers: ["Content-Type": "application/json"],
                body: JSONValue.object(["username": "ann", "password": .string(password)]).serialized()
            ).status
        }
        #expect(try login("the first password") == 401)
        #expect(try login("the second password") == 200)
    }

    @Test(arguments: TestEngine.all)
    func projectUserTokenAndImport(engine: TestEngine) throws {
        let db = try engine.freshDatabase(in: directory.path)
        // PostgreSQL's URL comes from the environment, as a deployment would set it.
        func arbiter(_ arguments: String...) throws -> CommandRunner.Result {
            engine == .postgres
                ? try CommandRunner.arbiter(arguments.filter { $0 != "--db" && $0 != "DB" }, environment: ["ARBITER_DATABASE_URL": db])
                : try CommandRunner.arbiter(arguments.map { $0 == "DB" ? db : $0 })
        }
        let created = try arbiter(
            "project", "create", "--db", "DB", "--name", "Helpfulness v1", "--overlap", "2", "--aspects", "helpfulness, harmlessness",
            "--json")
        #expect(created.status == 0, "\(created)")
        let json = try JSONValue.parse(created.stdout.trimmingNewline)
        #expect(json == ["id": 1, "name": "Helpfulness v1"])

        #expect(try arbiter("user", "add", "--db", "DB", "--username", "ann", "--role", "annotator").status == 0)
        let token = try arbiter("token", "create", "--db", "DB", "--username", "ann")
        #expect(token.status == 0)
        #expect(token.stdout.hasPrefix("arb_"))
        #expect(token.stdout.trimmingNewline.count > 40)

        directory.write(
            "pairs.jsonl",
            """
            {"id":"p1","prompt":"q1","response_a":"a","response_b":"b"}
            {"prompt":"q2","chosen":"good","rejected":"bad"}

            """)
        let imported = try arbiter("import", "pairs", "--db", "DB", "--project", "Helpfulness v1", directory.path + "/pairs.jsonl")
        #expect(imported.status == 0, "\(imported)")
        #expect(imported.stdout == "2 imported, 0 duplicates, 0 invalid, 2 lines\n")

        directory.write("annotations.jsonl", #"{"pair":"p1","annotator":"outside","choice":"A","strength":2}"# + "\n")
        let judged = try arbiter(
            "import", "annotations", "--db", "DB", "--project", "Helpfulness v1", directory.path + "/annotations.jsonl")
        #expect(judged.status == 0, "\(judged)")

        let list = try arbiter("project", "list", "--db", "DB", "--json")
        let projects = try JSONValue.parse(list.stdout)
        #expect(projects.arrayValue?.first?["pairs"] == 2)
        #expect(projects.arrayValue?.first?["annotations"] == 1)
        #expect(projects.arrayValue?.first?["aspects"] == ["helpfulness", "harmlessness"])
        // The command line audits what it creates, as the API does.
        let audit = try connect(db).query("SELECT action, details FROM audit_log ORDER BY id") { "\($0.string(0)) \($0.string(1))" }
        #expect(audit.contains { $0.hasPrefix("project_created") && $0.contains(#""via":"cli""#) }, "\(audit)")
        #expect(
            audit.contains { $0.hasPrefix("token_created") && $0.contains(#""username":"ann""#) && $0.contains(#""via":"cli""#) },
            "\(audit)")
        #expect(
            audit.contains { $0.hasPrefix("import_pairs") && $0.contains(#""imported":"2""#) && $0.contains(#""via":"cli""#) }, "\(audit)")
        #expect(audit.contains { $0.hasPrefix("import_annotations") && $0.contains(#""via":"cli""#) }, "\(audit)")
        let exported = try arbiter(
            "export", "--db", "DB", "--project", "Helpfulness v1", "--format", "raw", "--out", directory.path + "/raw.jsonl")
        #expect(exported.status == 0, "\(exported)")
        let afterExport = try connect(db).query("SELECT action, details FROM audit_log ORDER BY id DESC LIMIT 1") {
            "\($0.string(0)) \($0.string(1))"
        }
        #expect(afterExport.first?.hasPrefix("export") == true && afterExport.first?.contains(#""via":"cli""#) == true, "\(afterExport)")
    }

    @Test(arguments: TestEngine.all)
    func refusedImportLeavesTheDatabaseUntouched(engine: TestEngine) throws {
        let db = try engine.freshDatabase(in: directory.path)
        func arbiter(_ arguments: String...) throws -> CommandRunner.Result {
            try CommandRunner.arbiter(arguments.map { $0 == "DB" ? db : $0 })
        }
        #expect(try arbiter("project", "create", "--db", "DB", "--name", "p").status == 0)
        directory.write(
            "bad.jsonl",
            """
            {"id":"p1","prompt":"q1","response_a":"a","response_b":"b"}
            {"id":"p2","prompt":"q2","response_a":"a"}
            {"id":"p3","prompt":"q3","response_a":"a","response_b":"b"}
            """)
        let before = try Self.checksum(db)
        let result = try arbiter("import", "pairs", "--db", "DB", "--project", "p", directory.path + "/bad.jsonl")
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.first == "line 2: response_b: missing")
        #expect(lines.last?.hasPrefix("Error: import refused, nothing written: 1 invalid line") == true)
        #expect(try Self.checksum(db) == before)

        let skipped = try arbiter("import", "pairs", "--db", "DB", "--project", "p", "--skip-invalid", directory.path + "/bad.jsonl")
        #expect(skipped.status == 0)
        #expect(skipped.stdout == "2 imported, 0 duplicates, 1 invalid, 3 lines\n")
    }

    @Test(arguments: [
        (["project", "create", "--db", "DB", "--name", "x", "--overlap", "0"], "overlap must be between 1 and 100"),
        (["import", "pairs", "--db", "DB", "--project", "nope", "/dev/null"], "no project named 'nope'"),
        (["import", "pairs", "--db", "DB", "--project", "nope", "/no/such/file.jsonl"], "/no/such/file.jsonl"),
        (["user", "add", "--db", "DB", "--username", "x", "--role", "king"], "--role must be admin, reviewer or annotator"),
        (["token", "create", "--db", "DB", "--username", "ghost"], "no user named 'ghost'"),
        (["project", "create", "--db", "/no/such/dir/x.sqlite", "--name", "x"], "unable to open database file"),
    ])
    func errorsAreOneLineAndNonZero(arguments: [String], message: String) throws {
        let result = try CommandRunner.arbiter(arguments.map { $0 == "DB" ? db : $0 })
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result)")
        #expect(result.stderr.contains(message), "\(result)")
    }

    @Test(arguments: TestEngine.all)
    func duplicateProjectNameIsRefused(engine: TestEngine) throws {
        let db = try engine.freshDatabase(in: directory.path)
        func arbiter(_ arguments: String...) throws -> CommandRunner.Result {
            try CommandRunner.arbiter(arguments.map { $0 == "DB" ? db : $0 })
        }
        #expect(try arbiter("project", "create", "--db", "DB", "--name", "same").status == 0)
        let again = try arbiter("project", "create", "--db", "DB", "--name", "same")
        #expect(again.status != 0)
        #expect(again.stderr == "Error: a project named 'same' already exists\n")
    }

    @Test func killedImportLeavesNothingBehind() throws {
        #expect(try arbiter("project", "create", "--db", "DB", "--name", "p").status == 0)
        // Big enough that the import is still running when it is killed.
        var lines = ""
        for index in 0..<200_000 {
            lines += #"{"id":"p\#(index)","prompt":"question \#(index)","response_a":"answer one","response_b":"answer two"}"# + "\n"
        }
        directory.write("big.jsonl", lines)
        let process = try ServerProcess(
            ["import", "pairs", "--db", db, "--project", "p", directory.path + "/big.jsonl"], waitForPort: false)
        usleep(400_000)
        process.signal(SIGKILL)
        _ = process.waitForExit()
        let count = try arbiter("project", "list", "--db", "DB", "--json")
        #expect(try JSONValue.parse(count.stdout).arrayValue?.first?["pairs"] == 0)
        let check = try CommandRunner.arbiter(["import", "pairs", "--db", db, "--project", "p", "--dry-run", "/dev/null"])
        #expect(check.status == 0, "the database still opens and migrates: \(check)")
    }

    /// A digest of every row of every table, to prove a database unchanged.
    /// Every table's rows, as `arbiter db copy` checks them (either engine).
    static func checksum(_ database: String) throws -> [DatabaseCopy.Table] {
        try DatabaseCopy.checksums(connect(database), derived: ArbiterStore.derivedTables)
    }
}

extension String {
    var trimmingNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}

@Suite struct RewardCommandTests {
    @Test func trainThenScore() throws {
        let directory = TemporaryDirectory()
        var lines = ""
        var random = SplitMix(seed: 3)
        let words = ["alpha", "beta", "gamma", "delta", "omega", "sigma"]
        for _ in 0..<400 {
            let noise = (0..<6).map { _ in words[Int(random.next() % 6)] }.joined(separator: " ")
            lines +=
                JSONValue.object(["prompt": "q", "chosen": .string(noise + " thanks for asking"), "rejected": .string(noise + " no idea")])
                .jsonText + "\n"
        }
        directory.write("train.jsonl", lines)
        let trained = try CommandRunner.arbiter([
            "train", "--input", directory.path + "/train.jsonl", "--out", directory.path + "/model", "--bits", "14",
        ])
        #expect(trained.status == 0, "\(trained)")
        let metrics = try JSONValue.parse(TextFile.read(directory.path + "/model/metrics.json") ?? "")
        #expect((metrics["held_out_accuracy"]?.doubleValue ?? 0) > 0.9)
        for key in ["log_loss", "expected_calibration_error", "longer_wins", "shorter_wins", "reward_length_correlation"] {
            #expect(metrics[key]?.doubleValue != nil, "\(key)")
        }
        directory.write(
            "score.jsonl",
            #"{"prompt":"q","chosen":"thanks for asking","rejected":"no idea"}"# + "\n" + #"{"prompt":"q","response":"no idea"}"# + "\n")
        let scored = try CommandRunner.arbiter(["score", "--model", directory.path + "/model", "--input", directory.path + "/score.jsonl"])
        #expect(scored.status == 0)
        let out = scored.stdout.split(separator: "\n").map { try? JSONValue.parse(String($0)) }
        #expect(out.count == 2)
        #expect((out[0]?["chosen_score"]?.doubleValue ?? 0) > (out[0]?["rejected_score"]?.doubleValue ?? 0))
        #expect(out[1]?["score"]?.doubleValue != nil)
        let missing = try CommandRunner.arbiter(["score", "--model", directory.path + "/nope", "--input", directory.path + "/score.jsonl"])
        #expect(missing.status != 0)
        #expect(missing.stderr.split(separator: "\n").count == 1)

        // --hidden: the MLP's tensors have the real safetensors layout Python reads.
        let mlp = try CommandRunner.arbiter([
            "train", "--input", directory.path + "/train.jsonl", "--out", directory.path + "/mlp",
            "--bits", "14", "--hidden", "8",
        ])
        #expect(mlp.status == 0, "\(mlp)")
        let shapes = try PythonReference.run([
            "-c",
            """
            from safetensors.numpy import load_file
            t = load_file("\(directory.path)/mlp/model.safetensors")
            print(sorted((k, v.shape, str(v.dtype)) for k, v in t.items()))
            """,
        ])
        #expect(
            shapes.stdout
                == "[('embedding.weight', (16384, 8), 'float32'), ('hidden.bias', (8,), 'float32'), ('linear.weight', (16384,), 'float32'), ('output.weight', (8,), 'float32')]\n",
            "\(shapes)")
        let mlpScored = try CommandRunner.arbiter(["score", "--model", directory.path + "/mlp", "--input", directory.path + "/score.jsonl"])
        let first = try JSONValue.parse(String(mlpScored.stdout.split(separator: "\n").first ?? ""))
        #expect((first["chosen_score"]?.doubleValue ?? 0) > (first["rejected_score"]?.doubleValue ?? 0))
    }

    @Test func badTrainingInputIsOneLineAndWritesNothing() throws {
        let directory = TemporaryDirectory()
        let good = #"{"prompt":"q","chosen":"yes","rejected":"no"}"#
        for (name, text, message) in [
            ("broken", String(repeating: good + "\n", count: 20) + "{oops\n", "line 21: invalid JSON"),
            (
                "fields", String(repeating: good + "\n", count: 20) + #"{"prompt":"q","chosen":"yes"}"# + "\n",
                "line 21: expected TRL chosen and rejected"
            ),
            ("few", good + "\n", "at least 10 comparisons"),
        ] {
            directory.write(name + ".jsonl", text)
            let result = try CommandRunner.arbiter([
                "train", "--input", directory.path + "/\(name).jsonl", "--out", directory.path + "/out-" + name,
            ])
            #expect(result.status != 0)
            #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains(message), "\(name): \(result.stderr)")
            #expect(access(directory.path + "/out-" + name, F_OK) != 0, "no model directory for a refused input")
        }
        let bits = try CommandRunner.arbiter([
            "train", "--input", directory.path + "/few.jsonl", "--out", directory.path + "/x", "--bits", "30",
        ])
        #expect(bits.status != 0 && bits.stderr.contains("bits"))
    }
}
