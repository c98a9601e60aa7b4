import Glibc
@testable import Arbiter
import JSON
import RewardModel
import Storage
import Synchronization
import Testing
import TestSupport

@Suite struct ExportTests {
    /// Three pairs: p0 → A, p1 → tie, p2 → B (a conversation); "mallory" is
    /// quarantined and votes the other way everywhere.
    func fixture() throws -> (TestDatabase, Project) {
        let test = try TestDatabase()
        let project = try test.project()
        _ = try test.importPairs(
            [
                #"{"id":"p0","prompt":"Say hi","response_a":"Hello!","response_b":"Go away."}"#,
                #"{"id":"p1","prompt":"Pick","response_a":"one","response_b":"two"}"#,
                #"{"id":"p2","prompt":[{"role":"system","content":"Be brief."},{"role":"user","content":"2+2?"}],"response_a":"5","response_b":"4"}"#,
            ], into: project)
        var lines: [String] = []
        for rater in ["ann", "bob", "cat"] {
            lines.append(#"{"pair":"p0","annotator":"\#(rater)","choice":"A","strength":3,"rationale":"polite, \"kind\"\nand short"}"#)
            lines.append(#"{"pair":"p1","annotator":"\#(rater)","choice":"tie"}"#)
            lines.append(#"{"pair":"p2","annotator":"\#(rater)","choice":"B","strength":2}"#)
        }
        for pair in ["p0", "p1", "p2"] { lines.append(#"{"pair":"\#(pair)","annotator":"mallory","choice":"A"}"#) }
        _ = try test.importAnnotations(lines, into: project)
        let mallory = try #require(try Users.find(test.db, username: "mallory"))
        try RaterStatus.set(test.db, projectID: project.id, userID: mallory.id, decision: .quarantined, comment: "test", by: 1, now: 0)
        return (test, project)
    }

    func lines(_ path: String) throws -> [JSONValue] {
        try (TextFile.read(path) ?? "").split(separator: "\n").map { try JSONValue.parse(String($0)) }
    }

    @Test(arguments: [Aggregation.majority, .weighted])
    func trlRowsManifestAndExclusions(aggregate: Aggregation) throws {
        let (test, project) = try fixture()
        var options = ExportOptions()
        options.aggregate = aggregate
        options.margin = true
        let out = test.directory.path + "/trl.jsonl"
        let manifest = try Exporter.run(test.db, project: project, options: options, out: out, now: 0).json
        let rows = try lines(out)
        #expect(rows.count == 2)
        #expect(rows[0]["prompt"] == "Say hi")
        #expect(rows[0]["chosen"] == "Hello!")
        #expect(rows[0]["rejected"] == "Go away.")
        #expect((rows[0]["margin"]?.doubleValue ?? 0) > 2.5, "unanimous, strength 3")
        // A conversation keeps its messages; completions become assistant turns.
        #expect(rows[1]["prompt"]?.arrayValue?.count == 2)
        #expect(rows[1]["chosen"] == [["role": "assistant", "content": "4"]])
        #expect(manifest["counts"]?["dropped"]?["tie"] == 1)
        #expect(manifest["counts"]?["annotations_excluded"] == 3)
        #expect(manifest["excluded_raters"]?.arrayValue?.first?["annotator"] == "mallory")
        let file = try #require(manifest["files"]?.arrayValue?.first)
        #expect(file["sha256"]?.stringValue == Digest.hex(Digest.sha256(TextFile.read(out) ?? "")))
        #expect(try TextFile.read(out + ".manifest.json").map { try JSONValue.parse($0).jsonText } == manifest.jsonText)
    }

    @Test func openaiHHAndSFTShapes() throws {
        let (test, project) = try fixture()
        var options = ExportOptions()
        options.aggregate = .majority
        options.format = .openai
        let openai = test.directory.path + "/openai.jsonl"
        _ = try Exporter.run(test.db, project: project, options: options, out: openai, now: 0)
        let o = try lines(openai)
        #expect(o[0]["input"]?["messages"] == [["role": "user", "content": "Say hi"]])
        #expect(o[0]["preferred_output"] == [["role": "assistant", "content": "Hello!"]])
        #expect(o[0]["non_preferred_output"] == [["role": "assistant", "content": "Go away."]])
        #expect(o[1]["input"]?["messages"]?.arrayValue?.first?["role"] == "system")

        options.format = .hhRLHF
        let hh = test.directory.path + "/hh.jsonl"
        _ = try Exporter.run(test.db, project: project, options: options, out: hh, now: 0)
        let h = try lines(hh)
        #expect(h[0]["chosen"] == "\n\nHuman: Say hi\n\nAssistant: Hello!")
        #expect(h[0]["rejected"] == "\n\nHuman: Say hi\n\nAssistant: Go away.")

        options.format = .sft
        let sft = test.directory.path + "/sft.jsonl"
        _ = try Exporter.run(test.db, project: project, options: options, out: sft, now: 0)
        #expect(try lines(sft)[0] == ["prompt": "Say hi", "completion": "Hello!", "label_source": "crowd"])
        // OpenAI's rows keep exactly the keys its fine-tuning API validates.
        #expect(o[0].objectValue.map { Set($0.keys) } == ["input", "preferred_output", "non_preferred_output"])
        #expect(h[0]["label_source"] == "crowd")
    }

    @Test func rawAndCSVMarkExclusionsAndQuote() throws {
        let (test, project) = try fixture()
        var options = ExportOptions()
        options.format = .raw
        let raw = test.directory.path + "/raw.jsonl"
        _ = try Exporter.run(test.db, project: project, options: options, out: raw, now: 0)
        let rows = try lines(raw)
        #expect(rows.count == 12)
        #expect(
            rows.filter { $0["excluded"] == true }.allSatisfy {
                $0["annotator"] == "mallory" && $0["excluded_reason"] == "rater quarantined"
            })
        options.format = .csv
        let csv = test.directory.path + "/raw.csv"
        _ = try Exporter.run(test.db, project: project, options: options, out: csv, now: 0)
        let text = try #require(TextFile.read(csv))
        #expect(
            text.hasPrefix(
                "pair_id,annotator,choice,strength,aspects,rationale,shown_swapped,duration_ms,created_at,kind,rater_status,excluded,excluded_reason\r\n"
            ))
        #expect(text.contains("\"polite, \"\"kind\"\"\nand short\""), "RFC 4180 quoting")
    }

    /// Found by the escaping fuzzer: a quote followed by a combining mark is one
    /// Character, so Character-level quoting left it bare. Python's csv module (a
    /// reference reader) must read every field back exactly.
    @Test func csvQuotingWorksOnScalarsAndPythonReadsItBack() throws {
        let tricky = ["a\"\u{301}b", "x,\u{301}", "\"", "line\r\nbreak", "plain", "e\u{301}\"\"", ""]
        let fields = tricky.map { ExportFormat.csvField(.string($0)) }
        #expect(fields[0] == "\"a\"\"\u{301}b\"")
        let directory = TemporaryDirectory()
        directory.write("row.csv", fields.joined(separator: ",") + "\r\n")
        directory.write("expected.json", JSONValue.array(tricky.map { .string($0) }).jsonText)
        let check = try PythonReference.run([
            "-c",
            """
            import csv, json
            row = next(csv.reader(open("\(directory.path)/row.csv", newline="", encoding="utf-8")))
            print(row == json.load(open("\(directory.path)/expected.json", encoding="utf-8")))
            """,
        ])
        #expect(check.stdout == "True\n", "\(check)")
    }

    @Test(arguments: TestEngine.all)
    func splitsAreSeededAndDisjoint(engine: TestEngine) throws {
        let test = try TestDatabase(engine: engine)
        let project = try test.project()
        _ = try test.importPairs((0..<200).map { #"{"id":"p\#($0)","prompt":"q\#($0)","response_a":"a","response_b":"b"}"# }, into: project)
        _ = try test.importAnnotations((0..<200).map { #"{"pair":"p\#($0)","annotator":"ann","choice":"A"}"# }, into: project)
        var options = ExportOptions()
        options.aggregate = .majority
        options.testFraction = 0.2
        options.seed = 7
        let one = try Exporter.run(test.db, project: project, options: options, out: test.directory.path + "/a.jsonl", now: 0).json
        let two = try Exporter.run(test.db, project: project, options: options, out: test.directory.path + "/b.jsonl", now: 0).json
        let counts = one["files"]?.arrayValue?.map { $0["lines"]?.intValue ?? 0 } ?? []
        #expect(counts.reduce(0, +) == 200)
        #expect((20...60).contains(counts[1]), "about 20% in test: \(counts)")
        #expect(one["files"]?.arrayValue?.map { $0["sha256"] } == two["files"]?.arrayValue?.map { $0["sha256"] }, "same seed, same split")
    }

    /// A requested test split of a small export is never empty by chance: 10% of
    /// 12 pairs is at least one pair, for every seed (the seeded hash alone left seed 0's
    /// test file empty), and a reward model is measured on it and says so.
    @Test(arguments: TestEngine.all)
    func aSmallTestSplitIsNeverEmpty(engine: TestEngine) throws {
        let test = try TestDatabase(engine: engine)
        let project = try test.project()
        _ = try test.importPairs(
            (0..<12).map { #"{"id":"p\#($0)","prompt":"q\#($0)","response_a":"good answer \#($0)","response_b":"bad \#($0)"}"# },
            into: project)
        _ = try test.importAnnotations((0..<12).map { #"{"pair":"p\#($0)","annotator":"ann","choice":"A"}"# }, into: project)
        var options = ExportOptions()
        options.testFraction = 0.1
        var tests: Set<[UInt8]> = []
        for seed: UInt64 in 0..<8 {
            options.seed = seed
            let out = test.directory.path + "/s\(seed).jsonl"
            let manifest = try Exporter.run(test.db, project: project, options: options, out: out, now: 0).json
            let lines = manifest["files"]?.arrayValue?.map { $0["lines"]?.intValue ?? 0 } ?? []
            #expect(lines.reduce(0, +) == 12 && (1...3).contains(lines[1]), "seed \(seed): \(lines)")
            tests.insert(Array((TextFile.read(test.directory.path + "/s\(seed).test.jsonl") ?? "").utf8))
        }
        #expect(tests.count > 1, "seeds choose different test pairs")
        // 30% of 12 → 4 (the hash may put more there, never all).
        options.testFraction = 0.3
        options.seed = 0
        let thirty = try Exporter.run(test.db, project: project, options: options, out: test.directory.path + "/t.jsonl", now: 0).json
        let lines = thirty["files"]?.arrayValue?.map { $0["lines"]?.intValue ?? 0 } ?? []
        #expect(lines.reduce(0, +) == 12 && (4...11).contains(lines[1]), "\(lines)")
        // The reward model is held out on that split and the manifest says so.
        options.testFraction = 0.1
        options.rewardModel = test.directory.path + "/model"
        options.rewardTraining.bits = 10
        let trained = try Exporter.run(test.db, project: project, options: options, out: test.directory.path + "/m.jsonl", now: 0).json
        #expect(trained["reward_model"]?["held_out"] == "the test split")
        #expect((trained["reward_model"]?["metrics"]?["held_out_pairs"]?.intValue ?? 0) >= 1)
        #expect(Exporter.testItems(["only"], seed: 0, fraction: 0.5).isEmpty, "one item stays in train")
    }
}

extension ExportTests {
    /// `--reward-model`: trains on the exported pairs, measures on the export's test
    /// split, and the manifest carries the metrics.
    @Test(arguments: TestEngine.all)
    func exportTrainsARewardModelOnWhatItWrote(engine: TestEngine) throws {
        let test = try TestDatabase(engine: engine)
        let project = try test.project()
        let words = ["alpha", "beta", "gamma", "delta"]
        _ = try test.importPairs(
            (0..<300).map { index in
                let good = "\(words[index % 4]) a helpful careful answer \(words[(index / 4) % 4])"
                let bad = "\(words[(index + 1) % 4]) a rude dismissive reply \(words[(index / 3) % 4])"
                let (a, b) = index % 2 == 0 ? (good, bad) : (bad, good)
                return #"{"id":"p\#(index)","prompt":"q\#(index)","response_a":"\#(a)","response_b":"\#(b)"}"#
            }, into: project)
        _ = try test.importAnnotations(
            (0..<300).map { #"{"pair":"p\#($0)","annotator":"ann","choice":"\#($0 % 2 == 0 ? "A" : "B")"}"# }, into: project)
        var options = ExportOptions()
        options.aggregate = .majority
        options.testFraction = 0.2
        options.rewardModel = test.directory.path + "/model"
        options.rewardTraining.bits = 12
        let epochs = Mutex(0)
        options.rewardProgress = { report in epochs.withLock { $0 = report.epoch } }
        let manifest = try Exporter.run(test.db, project: project, options: options, out: test.directory.path + "/trl.jsonl", now: 0).json
        let testLines = manifest["files"]?.arrayValue?.last?["lines"]?.intValue
        let reward = try #require(manifest["reward_model"])
        #expect(reward["metrics"]?["held_out_pairs"]?.intValue == testLines, "measured on the export's test file")
        #expect((reward["metrics"]?["held_out_accuracy"]?.doubleValue ?? 0) > 0.95)
        #expect(epochs.withLock { $0 } >= 1, "progress reported")
        for file in ["model.safetensors", "config.json", "metrics.json"] {
            #expect(access(test.directory.path + "/model/" + file, R_OK) == 0, "\(file)")
        }
        options.format = .raw
        #expect(throws: ValidationError.self) {
            try Exporter.run(test.db, project: project, options: options, out: test.directory.path + "/raw.jsonl", now: 0)
        }
    }
}

@Suite struct ExportRouteTests {
    @Test(arguments: TestEngine.all)
    func theAPIStreamsTheExportWithItsChecksum(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 300)
        let lines = (0..<300).map { #"{"pair":"p\#($0)","annotator":"ann","choice":"\#($0 % 3 == 0 ? "B" : "A")","strength":2}"# }
        try await app.seed { db in
            var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
        }
        let reviewer = try await app.user("rev", role: .reviewer)
        let response = try app.client().request(
            "GET", "/api/projects/\(project.id)/export?format=trl&aggregate=majority&margin=true",
            headers: ["Authorization": "Bearer \(reviewer)"])
        #expect(response.status == 200)
        #expect(response.header("transfer-encoding") == "chunked")
        #expect(response.header("x-export-lines") == "300")
        #expect(response.header("x-export-sha256") == Digest.hex(Digest.sha256(response.body)))
        let first = try JSONValue.parse(String(decoding: response.body.split(separator: 0x0A)[0], as: UTF8.self))
        #expect(first["chosen"] == "B0")
        #expect(try await app.count("SELECT count(*) FROM audit_log WHERE action = 'export'") == 1)
        let bad = try app.client().request(
            "GET", "/api/projects/\(project.id)/export?format=parquet", headers: ["Authorization": "Bearer \(reviewer)"])
        #expect(bad.status == 400)
        await app.stop()
    }
}

/// Streamed exports leave nothing behind in the temporary directory: not after a
/// download, not when the client leaves early, not when the export fails.
@Suite struct ExportCleanupTests {
    @Test func theStagingFolderGoesWhateverHappens() async throws {
        let staging = TemporaryDirectory()
        let app = try TestApp { $0.temporaryDirectory = staging.path }
        let project = try await app.project(pairs: 2000)
        let lines = (0..<2000).map {
            #"{"pair":"p\#($0)","annotator":"ann","choice":"A","strength":2,"rationale":"\#(String(repeating: "x", count: 500))"}"#
        }
        try await app.seed { db in
            var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
        }
        let reviewer = try await app.user("rev", role: .reviewer)
        func leftovers() -> [String] {
            guard let handle = opendir(staging.path) else { return ["?"] }
            defer { closedir(handle) }
            var names: [String] = []
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { names.append(name) }
            }
            return names
        }
        func settled() async throws -> [String] {
            for _ in 0..<400 where !leftovers().isEmpty { try await Task.sleep(for: .milliseconds(25)) }
            return leftovers()
        }
        let target = "/api/projects/\(project.id)/export?format=raw"
        // A whole download.
        #expect(try app.client().request("GET", target, headers: ["Authorization": "Bearer \(reviewer)"]).status == 200)
        #expect(try await settled() == [])
        // The client asks and leaves at once, before the export is ready.
        for _ in 0..<3 {
            // The client is closed when it goes out of scope, right after sending.
            try app.client().send(Array("GET \(target) HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer \(reviewer)\r\n\r\n".utf8))
        }
        #expect(try await settled() == [], "an abandoned export is removed")
        // A failed export.
        let missing = try app.client().request(
            "GET", "/api/projects/999/export?format=raw", headers: ["Authorization": "Bearer \(reviewer)"])
        #expect(missing.status == 404, "\(missing)")
        #expect(try await settled() == [])
        await app.stop()
    }
}

@Suite struct RewardRouteTests {
    func json(_ response: RawClient.Response) throws -> JSONValue { try JSONValue.parse(response.body) }

    @Test(arguments: TestEngine.all)
    func trainsInTheBackgroundReportsProgressServesFilesAndScores(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.seed { db in
            let project = try Projects.create(db, name: "reward", settings: ProjectSettings())
            let lines = (0..<400).map { index in
                let good = "a helpful careful answer number \(index % 7)"
                let bad = "a rude dismissive reply number \(index % 5)"
                let (a, b) = index % 2 == 0 ? (good, bad) : (bad, good)
                return #"{"id":"p\#(index)","prompt":"q\#(index)","response_a":"\#(a)","response_b":"\#(b)"}"#
            }
            var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
            let votes = (0..<400).map { #"{"pair":"p\#($0)","annotator":"ann","choice":"\#($0 % 2 == 0 ? "A" : "B")"}"# }
            var votesReader = JSONLReader(bytes: Array(votes.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &votesReader, options: ImportOptions())
            return project
        }
        let admin = try await app.user("boss", role: .admin)
        let annotator = try await app.user("ann2")
        let reviewer = try await app.user("rev", role: .reviewer)
        func call(_ method: String, _ path: String, _ token: String, _ body: String? = nil) throws -> RawClient.Response {
            var headers = ["Authorization": "Bearer \(token)"]
            if body != nil { headers["Content-Type"] = "application/json" }
            return try app.client().request(
                method, "/api/projects/\(project.id)" + path, headers: headers, body: body.map { Array($0.utf8) } ?? [])
        }
        // Nothing trained yet.
        let early = try call("POST", "/reward/score", reviewer, #"{"items":[{"response":"hi"}]}"#)
        let earlyBody = try json(early)
        #expect(early.status == 404 && earlyBody["error"]?["code"] == "no_model")
        #expect(try call("POST", "/exports", annotator, "{}").status == 403)
        for bad in [
            #"{"epochs":0}"#, #"{"bits":30}"#, #"{"aggregate":"mean"}"#, #"{"colour":"red"}"#, #"[1]"#, #"{"test_fraction":"x"}"#,
            #"{"format":"xml"}"#, #"{"format":"raw","reward_model":true}"#, #"{"reward_model":"yes"}"#,
        ] {
            let response = try call("POST", "/exports", admin, bad)
            #expect(response.status == 400, "\(bad)")
        }
        let started = try call("POST", "/exports", admin, #"{"aggregate":"majority","test_fraction":0.2,"bits":12,"epochs":5}"#)
        #expect(started.status == 202, "\(String(decoding: started.body, as: UTF8.self))")
        var report = JSONValue.null
        for _ in 0..<600 {
            report = try json(call("GET", "/exports/latest", reviewer))
            if report["job"]?["state"] != "running" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(report["job"]?["state"] == "done", "\(report.jsonText)")
        #expect((report["job"]?["epoch"]?.intValue ?? 0) >= 1)
        #expect(report["job"]?["loss"]?.doubleValue != nil)
        let result = try #require(report["result"])
        #expect((result["metrics"]?["held_out_accuracy"]?.doubleValue ?? 0) > 0.95, "\(result.jsonText)")
        #expect(
            result["files"] == ["data.train.jsonl", "data.test.jsonl", "manifest.json", "model.safetensors", "config.json", "metrics.json"])
        // Downloads are the files on disk, byte for byte; other names are 404.
        let model = try call("GET", "/exports/latest/files/model.safetensors", reviewer)
        #expect(model.status == 200)
        let onDisk = try #require(fopen(app.directory.path + "/models/project-\(project.id)/model/model.safetensors", "rb"))
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while case let count = fread(&chunk, 1, chunk.count, onDisk), count > 0 { bytes += chunk[0..<count] }
        fclose(onDisk)
        #expect(model.body == bytes)
        for name in ["..%2Farbiter.sqlite", "data.jsonl", "secret"] {
            #expect(try call("GET", "/exports/latest/files/\(name)", reviewer).status == 404, "\(name)")
        }
        // Scoring: the helpful answer beats the rude one; bad items are 400 with their index.
        let scored = try json(
            call(
                "POST", "/reward/score", reviewer,
                #"{"items":[{"prompt":"q","chosen":"a helpful careful answer","rejected":"a rude dismissive reply"},{"response":"<script>alert(1)</script>"}]}"#
            ))
        let first = try #require(scored["scores"]?.arrayValue?.first)
        #expect((first["chosen_score"]?.doubleValue ?? 0) > (first["rejected_score"]?.doubleValue ?? 0))
        #expect(scored["scores"]?.arrayValue?.last?["score"]?.doubleValue != nil)
        let badItem = try call("POST", "/reward/score", reviewer, #"{"items":[{"response":"ok"},{"chosen":"only"}]}"#)
        let badItemBody = try json(badItem)
        #expect(badItem.status == 400 && badItemBody["error"]?["message"]?.stringValue?.hasPrefix("items[1]") == true)
        let tooMany = "{\"items\":[" + Array(repeating: #"{"response":"x"}"#, count: 1001).joined(separator: ",") + "]}"
        #expect(try call("POST", "/reward/score", reviewer, tooMany).status == 400)
        #expect(try await app.count("SELECT count(*) FROM audit_log WHERE action = 'export'") == 1)
        // Out-of-fold predictions for every exported pair feed the rater report.
        #expect(try await app.count("SELECT count(*) FROM reward_predictions") == 400)
        #expect(
            try await app.count(
                "SELECT count(*) FROM reward_predictions p JOIN pairs ON pairs.id = p.pair_id WHERE (p.p_a > 0.5) = (substr(pairs.response_a, 1, 3) = 'a h')"
            ) == 400)

        // A CSV export without a model: the next result replaces the last one.
        #expect(try call("POST", "/exports", admin, #"{"format":"csv"}"#).status == 202)
        for _ in 0..<600 {
            report = try json(call("GET", "/exports/latest", reviewer))
            if report["job"]?["state"] != "running" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(report["result"]?["files"] == ["data.csv", "manifest.json"], "\(report.jsonText)")
        #expect(report["result"]?["metrics"] == .null)
        let csv = try call("GET", "/exports/latest/files/data.csv", reviewer)
        #expect(csv.status == 200 && csv.header("content-type")?.hasPrefix("text/csv") == true)
        await app.stop()
    }
}

/// The length warning says what was found (it used to claim both signs whichever fired).
@Suite struct LengthWarningTests {
    @Test func theWarningNamesWhatWasFound() {
        // The export page's case: 100% held out against 63.6% for "longer wins", r = 0.72.
        let follows = RewardTraining.lengthWarning(accuracy: 1.0, longerWins: 0.636, shorterWins: 0.3, correlation: 0.72)
        #expect(
            follows
                == "The model's scores follow response length (r = 0.72), though its held-out accuracy (100.0%) is well above always picking the longer response (63.6%): check that length is not what the raters rewarded."
        )
        #expect(follows?.contains("barely") == false)
        let both = RewardTraining.lengthWarning(accuracy: 0.61, longerWins: 0.602, shorterWins: 0.3, correlation: -0.81)
        #expect(
            both
                == "The model mostly learned length: its scores follow response length (r = -0.81) and its held-out accuracy (61.0%) barely beats always picking the longer response (60.2%)."
        )
        let weak = RewardTraining.lengthWarning(accuracy: 0.55, longerWins: 0.2, shorterWins: 0.54, correlation: 0.1)
        #expect(
            weak
                == "The model's held-out accuracy (55.0%) barely beats always picking the shorter response (54.0%); its scores do not follow length (r = 0.1), so the labels may carry little signal."
        )
        #expect(RewardTraining.lengthWarning(accuracy: 0.85, longerWins: 0.5, shorterWins: 0.45, correlation: 0.2) == nil)
        // Below the baseline is not "barely beats"; three held-out pairs are rough figures.
        let below = RewardTraining.lengthWarning(accuracy: 1.0 / 3, longerWins: 1.0 / 3, shorterWins: 2.0 / 3, correlation: 0.1, heldOut: 3)
        #expect(
            below
                == "The model's held-out accuracy (33.3%) is below always picking the shorter response (66.7%) (measured on 3 held-out pairs, so the figures are rough); its scores do not follow length (r = 0.1), so the labels may carry little signal."
        )
    }
}

/// Export jobs live in the database, so every node reports the same job, one
/// runs per project across the cluster, and a job whose node went silent (it
/// died, or the server restarted mid-job) is run again by another.
@Suite struct RewardJobTakeoverTests {
    @Test(arguments: TestEngine.all)
    func aSilentNodesJobIsTakenOverAndARunningOneBlocksAnother(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 60)
        try await app.seed { db in
            let votes = (0..<60).map { #"{"pair":"p\#($0)","annotator":"ann","choice":"\#($0 % 2 == 0 ? "A" : "B")"}"# }
            var reader = JSONLReader(bytes: Array(votes.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
        }
        let admin = try await app.user("boss", role: .admin)
        let now = app.clock.now.load(ordering: .relaxed)
        // Another node runs this project's job and is alive: no second one.
        try await app.seed { db in
            _ = try Jobs.claim(
                db, projectID: project.id, request: #"{"epochs":2,"bits":10}"#, node: "other-node", epochs: 2, now: now,
                staleBefore: now - 30_000)
        }
        let refused = try app.call("POST", "/api/projects/\(project.id)/exports", admin, "{}")
        #expect(refused.status == 409, "\(refused)")
        #expect(try app.call("GET", "/api/projects/\(project.id)/exports/latest", admin).json["job"]?["state"] == "running")
        // It falls silent: half a minute later, this node takes the job over and runs its request.
        app.clock.advance(seconds: 31)
        var job = JSONValue.null
        for _ in 0..<300 {
            job = try app.call("GET", "/api/projects/\(project.id)/exports/latest", admin).json["job"] ?? .null
            if job["state"] == "done" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(job["state"] == "done", "\(job.jsonText)")
        #expect(job["attempts"] == 2)
        #expect(job["epochs"] == 2)
        let node = try await app.seed { db in try Jobs.find(db, projectID: project.id)?.node }
        #expect(node != "other-node")
        #expect(access(app.directory.path + "/models/project-\(project.id)/model/model.safetensors", F_OK) == 0)
        await app.stop()
    }
}

/// An export describes one moment: taken while 16 annotators submit, its data
/// file and its manifest's agreement count the same judgements (before, the
/// agreement was computed after the data was written, and saw more).
@Suite struct ExportSnapshotTests {
    @Test(arguments: TestEngine.all)
    func anExportTakenDuringSubmitsIsOneSnapshot(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 3000) { $0.overlap = 1 }
        let admin = try await app.user("boss", role: .admin)
        var tokens: [String] = []
        for index in 0..<16 { tokens.append(try await app.user("a\(index)")) }
        let port = app.port
        let stop = Atomic<Bool>(false)
        let annotators = tokens
        let writers = Threads.start(16) { index in
            guard let client = try? RawClient(port: port) else { return }
            let token = annotators[index]
            while !stop.load(ordering: .relaxed) {
                guard
                    let next = try? client.request(
                        "GET", "/api/projects/\(project.id)/next", headers: ["Authorization": "Bearer \(token)"]),
                    next.status == 200, let id = (try? JSONValue.parse(next.body))?["assignment"]?["id"]?.intValue
                else { return }
                _ = try? client.request(
                    "POST", "/api/assignments/\(id)/annotation", headers: ["Authorization": "Bearer \(token)"],
                    body: Array(#"{"choice":"left","strength":2}"#.utf8))
            }
        }
        func call(_ method: String, _ path: String, _ body: String? = nil) throws -> RawClient.Response {
            var headers = ["Authorization": "Bearer \(admin)"]
            if body != nil { headers["Content-Type"] = "application/json" }
            return try app.client().request(method, "/api/projects/\(project.id)" + path, headers: headers, body: Array((body ?? "").utf8))
        }
        while try await app.count("SELECT count(*) FROM annotations") < 300 { try await Task.sleep(for: .milliseconds(20)) }
        for _ in 0..<3 {
            #expect(try call("POST", "/exports", #"{"format":"raw"}"#).status == 202)
            var state = "running"
            for _ in 0..<600 where state == "running" {
                try await Task.sleep(for: .milliseconds(25))
                state = try JSONValue.parse(call("GET", "/exports/latest").body)["job"]?["state"]?.stringValue ?? "?"
            }
            #expect(state == "done")
            let lines = try call("GET", "/exports/latest/files/data.jsonl").body.split(separator: 0x0A).count
            let manifest = try JSONValue.parse(call("GET", "/exports/latest/files/manifest.json").body)
            #expect(
                manifest["agreement"]?["judgements"]?.intValue == Int64(lines),
                "data \(lines) lines, manifest \(manifest["agreement"]?.jsonText ?? "")")
            #expect(manifest["counts"]?["annotations"]?.intValue == Int64(lines))
        }
        stop.store(true, ordering: .relaxed)
        writers.wait()
        await app.stop()
    }
}

/// A format owns what the rest needs to know about it; the export page asks the server.
@Suite struct ExportFormatTests {
    @Test(arguments: TestEngine.all)
    func theServerListsEveryFormatWithItsFacts(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let reviewer = try await app.user("rev", role: .reviewer)
        let annotator = try await app.user("ann")
        let listed = try app.call("GET", "/api/export-formats", reviewer).json["formats"]?.arrayValue ?? []
        #expect(listed.compactMap { $0["name"]?.stringValue } == ExportFormat.allCases.map(\.rawValue))
        #expect(listed.filter { $0["pairwise"] == true }.compactMap { $0["name"]?.stringValue } == ["trl", "openai", "hh-rlhf", "sft"])
        #expect(
            listed.first { $0["name"] == "csv" }?["extension"] == "csv" && listed.first { $0["name"] == "raw" }?["extension"] == "jsonl")
        #expect(try app.call("GET", "/api/export-formats", annotator).status == 403)
        #expect(ExportFormat.contentType(ofFile: "data.test.jsonl") == "application/x-ndjson")
        #expect(ExportFormat.contentType(ofFile: "data.csv") == "text/csv; charset=utf-8")
        #expect(ExportFormat.contentType(ofFile: "model.safetensors") == "application/octet-stream")
        #expect(ExportFormat.contentType(ofFile: "manifest.json") == "application/json")
        await app.stop()
    }
}
