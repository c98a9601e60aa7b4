public import JSON

/// What `arbiter export` writes.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// TRL preference rows: prompt / chosen / rejected (conversational when the prompt is a message list).
    case trl
    /// OpenAI preference fine-tuning: input.messages, preferred_output, non_preferred_output.
    case openai
    /// Anthropic HH-RLHF transcripts: "\n\nHuman: …\n\nAssistant: …".
    case hhRLHF = "hh-rlhf"
    /// Prompt and the chosen response, for supervised fine-tuning (TRL prompt/completion).
    case sft
    /// Every annotation as JSONL, excluded ones marked with why.
    case raw
    /// `raw` as RFC 4180 CSV.
    case csv
    /// Rating projects: one line per response with its attribute scores averaged
    /// over raters with their weights (HelpSteer2's columns).
    case helpsteer
    /// Rewrites as supervised fine-tuning rows: `messages` ending in the rewritten
    /// assistant turn.
    case rewriteSFT = "rewrite-sft"

    /// Whether pairs are aggregated into one preference each (and a reward model
    /// can train on the export).
    public var isPairwise: Bool {
        switch self {
        case .trl, .openai, .hhRLHF, .sft: true
        case .raw, .csv, .helpsteer, .rewriteSFT: false
        }
    }

    /// The project kinds the format can export (helpsteer: rating projects only).
    public var kinds: [TaskKind] { self == .helpsteer ? [.rating] : TaskKind.allCases }

    /// Whether the format has anything to write only in projects that ask for rewrites.
    public var needsRewrites: Bool { self == .rewriteSFT }

    /// The data file's extension.
    public var fileExtension: String { self == .csv ? "csv" : "jsonl" }

    /// The data file's media type.
    public var contentType: String { self == .csv ? "text/csv; charset=utf-8" : "application/x-ndjson" }

    /// What the export page calls it.
    public var label: String {
        switch self {
        case .trl: "TRL (prompt / chosen / rejected)"
        case .openai: "OpenAI preference fine-tuning"
        case .hhRLHF: "HH-RLHF transcripts"
        case .sft: "SFT (prompt + chosen)"
        case .raw: "Raw annotations (JSONL)"
        case .csv: "Raw annotations (CSV)"
        case .helpsteer: "Ratings per response (HelpSteer-style JSONL)"
        case .rewriteSFT: "Rewrites as SFT (messages)"
        }
    }

    /// The media type of an export's file by its name (data, manifest, model files).
    public static func contentType(ofFile name: String) -> String {
        if name.hasSuffix(".safetensors") { return "application/octet-stream" }
        if let format = allCases.first(where: { name.hasSuffix("." + $0.fileExtension) }) { return format.contentType }
        return "application/json"
    }
}

// MARK: Encoding

extension ExportFormat {
    /// One preference as a line of this format (with its newline); pairwise formats only.
    ///
    /// `labelSource` (`crowd` or `reviewer`: whose decision the preference is) goes
    /// into each TRL, HH-RLHF and SFT row; OpenAI's rows keep the shape its
    /// fine-tuning API validates, and the manifest counts both sources.
    public func preferenceLine(
        prompt: Prompt, chosen: String, rejected: String, margin: Double?, labelSource: String? = nil,
        weight: Double? = nil
    ) -> [UInt8] {
        let assistant = { (text: String) -> JSONValue in [["role": "assistant", "content": .string(text)]] }
        var object: JSONObject
        switch self {
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
            object = [
                "chosen": .string(transcript + "\n\nAssistant: " + chosen), "rejected": .string(transcript + "\n\nAssistant: " + rejected),
            ]
        case .sft:
            switch prompt {
            case .text(let text): object = ["prompt": .string(text), "completion": .string(chosen)]
            case .messages: object = ["prompt": prompt.json, "completion": assistant(chosen)]
            }
        case .raw, .csv, .helpsteer, .rewriteSFT:
            object = [:]
        }
        if let labelSource, self != .openai { object["label_source"] = .string(labelSource) }
        if let weight, self != .openai { object["weight"] = .double(weight) }
        var bytes = JSONValue.object(object).serialized()
        bytes.append(0x0A)
        return bytes
    }

    /// The raw formats' header line for `columns` (CSV only), with its line break.
    public func annotationHeader(_ columns: [String]) -> [UInt8]? {
        self == .csv ? Array((columns.joined(separator: ",") + "\r\n").utf8) : nil
    }

    /// One judgement as a line of a raw format: a JSON object of `columns`, or an
    /// RFC 4180 CSV row.
    public func annotationLine(columns: [String], values: [JSONValue]) -> [UInt8] {
        if self == .csv { return Array((values.map(Self.csvField).joined(separator: ",") + "\r\n").utf8) }
        var bytes = JSONValue.object(JSONObject(zip(columns, values).map { (key: $0, value: $1) })).serialized()
        bytes.append(0x0A)
        return bytes
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
