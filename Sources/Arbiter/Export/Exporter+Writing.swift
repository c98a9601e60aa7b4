import JSON
import Storage

extension Exporter {
    /// `data.jsonl` → `data.train.jsonl` / `data.test.jsonl`.
    static func splitPaths(_ out: String) -> (train: String, test: String) {
        if out.hasSuffix(".jsonl") {
            let stem = String(out.dropLast(6))
            return (stem + ".train.jsonl", stem + ".test.jsonl")
        }
        return (out + ".train", out + ".test")
    }

    /// A pair goes to the test file when a hash of (seed, external id) falls below the fraction.
    static func inTest(_ externalID: String, seed: UInt64, fraction: Double) -> Bool {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
        for byte in externalID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01B3
        }
        hash ^= hash >> 33
        hash = hash &* 0xFF51_AFD7_ED55_8CCD
        hash ^= hash >> 33
        return Double(hash >> 11) / Double(1 << 53) < fraction
    }

    static func writePairwise(_ db: any Database, project: Project, options: ExportOptions, decisions: Decisions, out: String,
                              training: inout PreferenceSetBuilder?) throws -> [ExportManifest.File] {
        let paths = options.testFraction == nil ? (train: out, test: "") : splitPaths(out)
        let train = try HashingFileWriter(path: paths.train)
        let test = options.testFraction == nil ? nil : try HashingFileWriter(path: paths.test)
        var lines = (train: 0, test: 0)
        try ExportRepository.pairs(db, projectID: project.id, only: decisions.winners) { pair in
            guard let decision = decisions.winners[pair.id] else { return }
            let externalID = pair.externalID
            let prompt = pair.prompt
            let (chosen, rejected) = decision.aWins ? (pair.responseA, pair.responseB) : (pair.responseB, pair.responseA)
            let margin = options.margin ? decision.share * decision.strength : nil
            let line = Self.line(options.format, prompt: prompt, chosen: chosen, rejected: rejected, margin: margin)
            let isTest = options.testFraction.map { inTest(externalID, seed: options.seed, fraction: $0) } ?? false
            training?.append(chosen: chosen, rejected: rejected, margin: Float(margin ?? 0), test: isTest, pair: (pair.id, decision.aWins))
            if let test, isTest {
                try test.write(line)
                lines.test += 1
            } else {
                try train.write(line)
                lines.train += 1
            }
        }
        var files = [ExportManifest.File(path: paths.train, sha256: try train.close(), lines: lines.train)]
        if let test { files.append(ExportManifest.File(path: paths.test, sha256: try test.close(), lines: lines.test)) }
        return files
    }

    /// One output line (with its newline).
    static func line(_ format: ExportFormat, prompt: Prompt, chosen: String, rejected: String, margin: Double?) -> [UInt8] {
        let assistant = { (text: String) -> JSONValue in [["role": "assistant", "content": .string(text)]] }
        var object: JSONObject
        switch format {
        case .trl:
            switch prompt {
            case .text(let text):
                object = ["prompt": .string(text), "chosen": .string(chosen), "rejected": .string(rejected)]
            case .messages:
                object = ["prompt": prompt.json, "chosen": assistant(chosen), "rejected": assistant(rejected)]
            }
            if let margin { object["margin"] = .double(margin) }
        case .openai:
            let messages: JSONValue
            switch prompt {
            case .text(let text): messages = [["role": "user", "content": .string(text)]]
            case .messages: messages = prompt.json
            }
            object = ["input": ["messages": messages], "preferred_output": assistant(chosen), "non_preferred_output": assistant(rejected)]
        case .hhRLHF:
            let transcript: String
            switch prompt {
            case .text(let text): transcript = "\n\nHuman: " + text
            case .messages(let messages):
                transcript = messages.map { ($0.role == "assistant" ? "\n\nAssistant: " : "\n\nHuman: ") + $0.content }.joined()
            }
            object = ["chosen": .string(transcript + "\n\nAssistant: " + chosen), "rejected": .string(transcript + "\n\nAssistant: " + rejected)]
        case .sft:
            switch prompt {
            case .text(let text): object = ["prompt": .string(text), "completion": .string(chosen)]
            case .messages: object = ["prompt": prompt.json, "completion": assistant(chosen)]
            }
        case .raw, .csv:
            object = [:]
        }
        var bytes = JSONValue.object(object).serialized()
        bytes.append(0x0A)
        return bytes
    }

    static func writeRaw(
        _ db: any Database, project: Project, options: ExportOptions, excluding quarantined: Set<Int>, flagged: Set<Int>,
        names: [Int: String], out: String
    ) throws -> (file: ExportManifest.File, excluded: Int) {
        let writer = try HashingFileWriter(path: out)
        let columns = ["pair_id", "annotator", "choice", "strength", "aspects", "rationale", "shown_swapped", "duration_ms", "created_at",
                       "kind", "rater_status", "excluded", "excluded_reason"]
        if options.format == .csv { try writer.write(columns.joined(separator: ",") + "\r\n") }
        var lines = 0
        var excluded = 0
        try ExportRepository.annotations(db, projectID: project.id) { row in
            let user = row.user
            let reason: String? = quarantined.contains(user) ? "rater quarantined" : flagged.contains(user) ? "rater flagged" : nil
            if reason != nil { excluded += 1 }
            let values: [JSONValue] = [
                .string(row.externalPairID), JSONValue(names[user]), .string(row.choice), JSONValue(row.strength),
                row.aspects.flatMap { try? JSONValue.parse($0) } ?? .null, JSONValue(row.rationale),
                row.shownSwapped.map { .bool($0) } ?? .null, JSONValue(row.durationMilliseconds), .string(row.createdAt), .string(row.kind),
                .string(quarantined.contains(user) ? "quarantined" : flagged.contains(user) ? "flagged" : "ok"), .bool(reason != nil),
                JSONValue(reason),
            ]
            if options.format == .csv {
                try writer.write(values.map(csvField).joined(separator: ",") + "\r\n")
            } else {
                var bytes = JSONValue.object(JSONObject(zip(columns, values).map { (key: $0, value: $1) })).serialized()
                bytes.append(0x0A)
                try writer.write(bytes)
            }
            lines += 1
        }
        return (ExportManifest.File(path: out, sha256: try writer.close(), lines: lines), excluded)
    }

    /// RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled.
    static func csvField(_ value: JSONValue) -> String {
        let text: String
        switch value {
        case .null: return ""
        case .string(let string): text = string
        case .bool(let flag): return flag ? "true" : "false"
        default: text = value.jsonText
        }
        // Unicode scalars, not Characters: a quote followed by a combining mark is one
        // Character, and Character-level code would leave that quote unescaped (found by
        // the escaping fuzzer). CSV readers see scalars (bytes).
        guard text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        var quoted = String.UnicodeScalarView()
        quoted.append("\"")
        for scalar in text.unicodeScalars {
            if scalar == "\"" { quoted.append("\"") }
            quoted.append(scalar)
        }
        quoted.append("\"")
        return String(quoted)
    }
}
