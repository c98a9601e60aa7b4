import Arbiter
import JSON
import Storage
import Testing
import TestSupport

/// Ranking and rating projects end to end through the command line — create with
/// `--kind`, import multi-response tasks and judgements, export every task format
/// — with the files read back by Python's `json` as a training script would, on
/// both engines.
@Suite struct TaskExportTests {
    let directory = TemporaryDirectory()

    func arbiter(_ arguments: [String], stdin: String? = nil) throws -> CommandRunner.Result {
        try CommandRunner.arbiter(arguments, stdin: stdin)
    }

    func write(_ name: String, _ lines: [String]) throws -> String {
        directory.write(name, lines.joined(separator: "\n") + "\n")
        return directory.path + "/" + name
    }

    /// Reads JSONL files with Python: per file, the parsed lines.
    func python(_ paths: [String]) throws -> JSONValue {
        let script = """
            import json, sys
            out = {}
            for path in sys.argv[1:]:
                with open(path, encoding="utf-8") as f:
                    out[path] = [json.loads(line) for line in f if line.strip()]
            print(json.dumps(out))
            """
        let result = try PythonReference.run(["-c", script] + paths)
        #expect(result.status == 0, "\(result)")
        return try JSONValue.parse(result.stdout)
    }

    @Test(arguments: TestEngine.all)
    func rankingExports(engine: TestEngine) throws {
        let db = try engine.freshDatabase(in: directory.path)
        let created = try arbiter(["project", "create", "--db", db, "--name", "rank", "--kind", "ranking", "--overlap", "3"])
        #expect(created.status == 0, "\(created)")
        let tasks = try write(
            "tasks.jsonl",
            [
                #"{"id":"t1","prompt":"Sort these.","responses":["r0","r1","r2","r3"]}"#,
                #"{"id":"t2","prompt":[{"role":"user","content":"Pick one."}],"responses":["s0","s1","s2"]}"#,
            ])
        let imported = try arbiter(["import", "pairs", "--db", db, "--project", "rank", tasks])
        #expect(imported.status == 0, "\(imported)")
        let judgements = try write(
            "rankings.jsonl",
            [
                #"{"task":"t1","annotator":"a","ranking":[0,1,2,3]}"#, #"{"task":"t1","annotator":"b","ranking":[0,2,1,3]}"#,
                #"{"task":"t1","annotator":"c","ranking":[0,1,3,2]}"#,
                #"{"task":"t2","annotator":"a","ranking":[2,1,0]}"#, #"{"task":"t2","annotator":"b","ranking":[2,0,1]}"#,
                #"{"task":"t2","annotator":"c","ranking":[[0,1],2]}"#,
            ])
        let loaded = try arbiter(["import", "annotations", "--db", db, "--project", "rank", judgements])
        #expect(loaded.status == 0, "\(loaded)")
        // A bad line: one line on stderr naming it, nothing written.
        let bad = try write("bad.jsonl", [#"{"task":"t1","annotator":"d","ranking":[0,1,2]}"#])
        let refused = try arbiter(["import", "annotations", "--db", db, "--project", "rank", bad])
        #expect(refused.status != 0 && refused.stderr.contains("ranking"), "\(refused)")

        let all = directory.path + "/all.jsonl", adjacent = directory.path + "/adjacent.jsonl"
        let openai = directory.path + "/openai.jsonl", raw = directory.path + "/raw.jsonl"
        for (format, out, extra) in [
            ("trl", all, []), ("trl", adjacent, ["--ranking-pairs", "adjacent"]), ("openai", openai, []), ("raw", raw, []),
        ] {
            let result = try arbiter(
                ["export", "--db", db, "--project", "rank", "--format", format, "--out", out, "--aggregate", "majority"] + extra)
            #expect(result.status == 0, "\(result)")
        }
        let files = try python([all, adjacent, openai, raw])
        // Mean ranks (majority: equal weights). t1: r0 1, r1 2.33, r2 3, r3 3.67 → six
        // pairs of weight 1/6. t2: s2 1.67, s0 and s1 both 2.17 (tied) → two pairs of weight 1/3.
        let allRows = files[all]?.arrayValue ?? []
        #expect(allRows.count == 8)
        func text(_ value: JSONValue?) -> String { value?.stringValue ?? value?.arrayValue?.first?["content"]?.stringValue ?? "" }
        let pairs = Set(allRows.map { "\(text($0["chosen"]))>\(text($0["rejected"]))" })
        #expect(pairs == ["r0>r1", "r0>r2", "r0>r3", "r1>r2", "r1>r3", "r2>r3", "s2>s0", "s2>s1"])
        for row in allRows {
            let weight = row["weight"]?.doubleValue ?? 0
            let k = text(row["chosen"]).hasPrefix("r") ? 4.0 : 3.0
            #expect(abs(weight - 2 / (k * (k - 1))) < 1e-12, "\(row)")
        }
        // Conversational prompt stays conversational.
        #expect(allRows.contains { $0["prompt"]?.arrayValue?.first?["content"]?.stringValue == "Pick one." })
        // Adjacent: r0>r1, r1>r2, r2>r3 (weight 1/3) and s2>s0, s2>s1 (weight 1/2).
        let adjacentRows = files[adjacent]?.arrayValue ?? []
        #expect(adjacentRows.count == 5)
        #expect(
            adjacentRows.allSatisfy { row in
                let k = text(row["chosen"]).hasPrefix("r") ? 4.0 : 3.0
                return abs((row["weight"]?.doubleValue ?? 0) - 1 / (k - 1)) < 1e-12
            })
        let openaiRows = files[openai]?.arrayValue ?? []
        #expect(openaiRows.count == 8 && openaiRows.allSatisfy { $0["input"]?["messages"] != nil && $0["weight"] == nil })
        // Raw: every judgement with its full ranking (canonical indices, ties nested).
        let rawRows = files[raw]?.arrayValue ?? []
        #expect(rawRows.count == 6)
        #expect(
            rawRows.contains { $0["annotator"]?.stringValue == "c" && $0["ranking"] == .array([.array([.int(0), .int(1)]), .int(2)]) })
        // The manifest says what was dropped: the one tied pair of t2.
        let manifest = try JSONValue.parse(Array((TextFile.read(all + ".manifest.json") ?? "").utf8))
        #expect(manifest["counts"]?["dropped"]?["tie"]?.intValue == 1, "\(manifest["counts"] ?? .null)")
        // Agreement reports Kendall's W over both tasks.
        let agreement = try arbiter(["agreement", "--db", db, "--project", "rank", "--json"])
        let report = try JSONValue.parse(agreement.stdout)
        #expect(report["kendall_w"]?["tasks"]?.intValue == 2)
    }

    @Test(arguments: TestEngine.all)
    func ratingAndRewriteExports(engine: TestEngine) throws {
        let db = try engine.freshDatabase(in: directory.path)
        for refused in [
            ["--kind", "rating"], ["--kind", "rating", "--attributes", "x", "--scale", "4-0"], ["--kind", "sorting"],
            ["--kind", "rating", "--attributes", "x", "--scale", "zero-four"],
        ] {
            let result = try arbiter(["project", "create", "--db", db, "--name", "bad"] + refused)
            #expect(result.status != 0 && result.stderr.split(separator: "\n").count == 1, "\(refused): \(result)")
        }
        let created = try arbiter([
            "project", "create", "--db", db, "--name", "rate", "--kind", "rating",
            "--attributes", "helpfulness,correctness", "--scale", "0-4", "--rewrite",
        ])
        #expect(created.status == 0, "\(created)")
        let tasks = try write(
            "tasks.jsonl", [#"{"id":"q","prompt":"Capital of France?","responses":["Paris.","Lyon.","Paris, on the Seine."]}"#])
        #expect(try arbiter(["import", "pairs", "--db", db, "--project", "rate", tasks]).status == 0)
        let judgements = try write(
            "ratings.jsonl",
            [
                #"{"task":"q","annotator":"a","ratings":[{"helpfulness":3,"correctness":4},{"helpfulness":0,"correctness":0},{"helpfulness":4,"correctness":4}],"rewrite":{"base":0,"text":"Paris is the capital of France."}}"#,
                #"{"task":"q","annotator":"b","ratings":[{"helpfulness":4,"correctness":4},{"helpfulness":1,"correctness":0},{"helpfulness":3,"correctness":4}]}"#,
            ])
        let loaded = try arbiter(["import", "annotations", "--db", db, "--project", "rate", judgements])
        #expect(loaded.status == 0, "\(loaded)")
        let helpsteer = directory.path + "/helpsteer.jsonl", gaps = directory.path + "/gaps.jsonl"
        let sft = directory.path + "/sft.jsonl", rewrites = directory.path + "/rewrites.jsonl"
        for (format, out, extra) in [
            ("helpsteer", helpsteer, []), ("trl", gaps, []), ("rewrite-sft", sft, []),
            ("trl", rewrites, ["--rewrite-pairs", "--min-gap", "5"]),
        ] {
            let result = try arbiter(
                ["export", "--db", db, "--project", "rate", "--format", format, "--out", out, "--aggregate", "majority"] + extra)
            #expect(result.status == 0, "\(result)")
        }
        let files = try python([helpsteer, gaps, sft, rewrites])
        // HelpSteer-style: one line per response, attribute means over the two raters.
        let rated = files[helpsteer]?.arrayValue ?? []
        #expect(rated.count == 3)
        let expected: [String: (Double, Double)] = ["Paris.": (3.5, 4), "Lyon.": (0.5, 0), "Paris, on the Seine.": (3.5, 4)]
        for row in rated {
            let want = try #require(expected[row["response"]?.stringValue ?? ""])
            #expect(
                row["helpfulness"]?.doubleValue == want.0 && row["correctness"]?.doubleValue == want.1 && row["raters"]?.intValue == 2,
                "\(row)")
            #expect(row["prompt"]?.stringValue == "Capital of France?")
        }
        // Score gaps (mean over attributes ≥ 1): both Paris answers beat Lyon; the two
        // Paris answers (3.75 each) make no pair.
        let gapRows = files[gaps]?.arrayValue ?? []
        #expect(
            Set(gapRows.map { "\($0["chosen"]?.stringValue ?? "")>\($0["rejected"]?.stringValue ?? "")" })
                == ["Paris.>Lyon.", "Paris, on the Seine.>Lyon."])
        // The rewrite as SFT messages, and as "rewritten > original".
        let sftRows = files[sft]?.arrayValue ?? []
        #expect(sftRows.count == 1)
        #expect(
            sftRows.first?["messages"]
                == .array([
                    ["role": "user", "content": "Capital of France?"],
                    ["role": "assistant", "content": "Paris is the capital of France."],
                ]))
        let rewriteRows = files[rewrites]?.arrayValue ?? []
        #expect(rewriteRows.count == 1, "min gap 5: no score pairs, only the rewrite")
        #expect(
            rewriteRows.first?["chosen"]?.stringValue == "Paris is the capital of France."
                && rewriteRows.first?["rejected"]?.stringValue == "Paris."
                && rewriteRows.first?["label_source"]?.stringValue == "rewrite")
        // helpsteer is for rating projects only; a pairwise format on a project without a kind's data is refused clearly.
        let agreement = try JSONValue.parse(try arbiter(["agreement", "--db", db, "--project", "rate", "--json"]).stdout)
        #expect(agreement["per_attribute"]?["correctness"]?["ratings"]?.intValue == 6)
    }

    /// The reward model of a ranking project trains with the Plackett–Luce loss on
    /// every counted ranking, of a rating project on the mean scores; metrics per
    /// kind; `--reward-loss pairs` trains on the exported pairs instead; `arbiter
    /// score` reads every one of them.
    @Test(arguments: TestEngine.all)
    func rewardModelsPerKind(engine: TestEngine) throws {
        let db = try engine.freshDatabase(in: directory.path)
        #expect(try arbiter(["project", "create", "--db", db, "--name", "rank", "--kind", "ranking"]).status == 0)
        #expect(
            try arbiter([
                "project", "create", "--db", db, "--name", "rate", "--kind", "rating", "--attributes", "helpfulness", "--scale", "1-5",
            ]).status == 0)
        var random = SplitMix(seed: 17)
        let filler = ["the", "answer", "is", "maybe", "we", "think", "result", "value", "simple", "data"]
        func response(_ quality: Int, _ task: Int) -> String {
            let words = (0..<(3 + Int(random.next() % 12))).map { _ in filler[Int(random.next() % 10)] }.joined(separator: " ")
            return "\(words) \(task)" + (quality >= 2 ? " because" : "") + (quality >= 1 ? " it is correct" : " whatever")
                + (quality == 3 ? " with evidence" : "")
        }
        var tasks: [String] = []
        var rankings: [String] = []
        var ratings: [String] = []
        for task in 0..<120 {
            var qualities = [0, 1, 2, 3]
            qualities.shuffle(using: &random)
            let texts = qualities.map { response($0, task) }
            tasks.append(
                JSONValue.object([
                    "id": .string("t\(task)"), "prompt": .string("question \(task)"), "responses": .array(texts.map { .string($0) }),
                ]).jsonText)
            let best = qualities.indices.sorted { qualities[$0] > qualities[$1] }
            for rater in ["a", "b"] {
                rankings.append(#"{"task":"t\#(task)","annotator":"\#(rater)","ranking":\#(best)}"#)
                let scores = qualities.map { #"{"helpfulness":\#(1 + $0 + (rater == "b" && $0 < 3 ? 1 : 0))}"# }.joined(separator: ",")
                ratings.append(#"{"task":"t\#(task)","annotator":"\#(rater)","ratings":[\#(scores)]}"#)
            }
        }
        let taskFile = try write("tasks.jsonl", tasks)
        for (project, lines) in [("rank", rankings), ("rate", ratings)] {
            #expect(try arbiter(["import", "pairs", "--db", db, "--project", project, taskFile]).status == 0)
            let judged = try arbiter(["import", "annotations", "--db", db, "--project", project, try write("\(project).jsonl", lines)])
            #expect(judged.status == 0, "\(judged)")
        }
        func metrics(_ project: String, _ extra: [String] = []) throws -> JSONValue {
            let model = directory.path + "/model-\(project)\(extra.count)"
            let result = try arbiter(
                [
                    "export", "--db", db, "--project", project, "--format", "trl", "--out", directory.path + "/\(project).trl.jsonl",
                    "--reward-model", model, "--epochs", "15",
                ] + extra)
            #expect(result.status == 0, "\(result)")
            let scored = try arbiter(["score", "--model", model, "--input", directory.path + "/\(project).trl.jsonl"])
            #expect(scored.status == 0 && !scored.stdout.isEmpty, "\(scored)")
            return try JSONValue.parse(Array((TextFile.read(model + "/metrics.json") ?? "").utf8))
        }
        let ranking = try metrics("rank")
        #expect(ranking["loss"]?.stringValue == "plackett-luce")
        #expect((ranking["ranking"]?["pairwise_accuracy"]?.doubleValue ?? 0) > 0.75, "\(ranking)")
        #expect((ranking["ranking"]?["held_out_implied_pairs"]?.intValue ?? 0) > 0)
        let rating = try metrics("rate")
        #expect(rating["loss"]?.stringValue == "regression")
        #expect((rating["rating"]?["spearman"]?.doubleValue ?? 0) > 0.7, "\(rating)")
        let pairs = try metrics("rank", ["--reward-loss", "pairs"])
        #expect(pairs["held_out_pairs"]?.intValue ?? 0 > 0 && pairs["loss"] == nil, "pairwise metrics: \(pairs)")
    }
}
