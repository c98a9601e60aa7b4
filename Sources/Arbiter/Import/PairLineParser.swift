public import JSON
import RewardModel
import Storage

/// Turns one JSONL line into pairs. Accepted shapes (DESIGN.md):
///
/// - plain: `{"id"?, "prompt", "response_a", "response_b", "model_a"?, "model_b"?, "metadata"?, "gold"?}`
/// - TRL: `{"prompt", "chosen", "rejected"}` — which becomes A is randomised (seeded
///   by the content, so a re-import lands the same way); the source's preference is
///   kept in `metadata.source_chosen`;
/// - multi-response: `{"prompt", "responses": [...]}` → every pair, or `k` per prompt;
///   in a ranking or rating project, one task with all K responses;
/// - HH-RLHF: `{"chosen", "rejected"}` transcripts, split at the last Assistant turn.
///
/// `prompt` is a string or a list of `{"role", "content"}` messages. Keys a format
/// does not know are kept in `metadata`.
public struct PairLineParser: Sendable {
    /// Limits on what one pair may hold.
    public struct Limits: Sendable {
        /// Longest prompt (its text, or its messages as JSON). Default 200 KB.
        public var maxPromptBytes = 200_000
        /// Longest response. Default 200 KB.
        public var maxResponseBytes = 200_000
        /// Longest external id. Default 256 bytes.
        public var maxIDBytes = 256
        /// Largest metadata object as JSON. Default 64 KB.
        public var maxMetadataBytes = 64_000
        /// Most responses in one multi-response line. Default 16.
        public var maxResponses = 16
        public init() {}
    }

    public var limits = Limits()
    /// For multi-response lines: how many pairs per prompt (nil: all of them).
    public var pairsPerPrompt: Int?
    /// The project's kind (ranking and rating: multi-response lines are one task).
    public var taskKind: TaskKind

    public init(limits: Limits = Limits(), pairsPerPrompt: Int? = nil, taskKind: TaskKind = .pairwise) {
        self.limits = limits
        self.pairsPerPrompt = pairsPerPrompt
        self.taskKind = taskKind
    }

    /// Parses one line's bytes.
    public func parse(_ line: ArraySlice<UInt8>) throws(ValidationError) -> [PairInput] {
        let value: JSONValue
        do {
            value = try line.withUnsafeBufferPointer { buffer throws(JSONError) in try JSONValue.parse(buffer) }
        } catch {
            throw ValidationError("invalid JSON: \(error)")
        }
        guard let object = value.objectValue else { throw ValidationError("expected a JSON object, got \(value.typeName)") }
        return try parse(object)
    }

    /// Parses one line's object.
    public func parse(_ object: JSONObject) throws(ValidationError) -> [PairInput] {
        if object["responses"] != nil {
            return try multiResponse(object)
        }
        if object["chosen"] != nil || object["rejected"] != nil {
            return object["prompt"] != nil ? [try trl(object)] : [try hhRLHF(object)]
        }
        if object["response_a"] != nil || object["response_b"] != nil {
            return [try plain(object)]
        }
        throw ValidationError(
            "not a pair: expected response_a/response_b, prompt/chosen/rejected, prompt/responses, or chosen/rejected transcripts")
    }

    // MARK: Formats

    private func plain(_ object: JSONObject) throws(ValidationError) -> [PairInput].Element {
        let known: Set<String> = ["id", "prompt", "response_a", "response_b", "model_a", "model_b", "metadata", "gold"]
        var pair = PairInput(
            externalID: try externalID(object["id"]),
            prompt: try prompt(object["prompt"]),
            responseA: try response(object["response_a"], field: "response_a"),
            responseB: try response(object["response_b"], field: "response_b"),
            modelA: try optionalString(object["model_a"], field: "model_a"),
            modelB: try optionalString(object["model_b"], field: "model_b"),
            metadata: try metadata(object, known: known),
            gold: nil
        )
        if let gold = object["gold"], gold != .null {
            guard taskKind == .pairwise else { throw ValidationError("gold: only pairwise projects have gold answers") }
            guard let text = gold.stringValue, let choice = Choice(rawValue: text) else {
                throw ValidationError("gold: expected \"A\", \"B\", \"tie\" or \"both_bad\"")
            }
            pair.gold = choice
        }
        try check(pair)
        return pair
    }

    private func trl(_ object: JSONObject) throws(ValidationError) -> PairInput {
        let known: Set<String> = ["id", "prompt", "chosen", "rejected"]
        let chosen = try completion(object["chosen"], field: "chosen")
        let rejected = try completion(object["rejected"], field: "rejected")
        var pair = PairInput(
            externalID: try externalID(object["id"]), prompt: try prompt(object["prompt"]),
            responseA: chosen, responseB: rejected, metadata: try metadata(object, known: known)
        )
        // Seeded by the content, so the same line always lands the same way round.
        Self.randomizeSides(&pair)
        try check(pair)
        return pair
    }

    private func multiResponse(_ object: JSONObject) throws(ValidationError) -> [PairInput] {
        let known: Set<String> = ["id", "prompt", "responses", "models"]
        guard let responses = object["responses"]?.arrayValue else { throw ValidationError("responses: expected an array of strings") }
        guard responses.count >= 2 else { throw ValidationError("responses: at least two are needed") }
        guard responses.count <= limits.maxResponses else { throw ValidationError("responses: at most \(limits.maxResponses)") }
        var texts: [String] = []
        for (index, value) in responses.enumerated() { texts.append(try response(value, field: "responses[\(index)]")) }
        var models: [String?] = Array(repeating: nil, count: texts.count)
        if let given = object["models"], given != .null {
            guard let array = given.arrayValue, array.count == texts.count, array.allSatisfy({ $0.stringValue != nil }) else {
                throw ValidationError("models: expected one model name per response")
            }
            models = array.map(\.stringValue)
        }
        let prompt = try prompt(object["prompt"])
        let id = try externalID(object["id"])
        let metadata = try metadata(object, known: known)
        if taskKind != .pairwise {
            guard texts.count <= TaskKind.maxResponses else {
                throw ValidationError("responses: at most \(TaskKind.maxResponses) in a \(taskKind.rawValue) project")
            }
            for i in texts.indices {
                if let j = texts.indices.first(where: { $0 > i && texts[$0] == texts[i] }) {
                    throw ValidationError("responses[\(i)] and responses[\(j)] are identical")
                }
            }
            return [
                PairInput(
                    externalID: id, prompt: prompt, responseA: texts[0], responseB: texts[1], modelA: models[0], modelB: models[1],
                    metadata: metadata, gold: nil, responses: texts, models: models.contains { $0 != nil } ? models : nil
                )
            ]
        }
        var combinations: [(Int, Int)] = []
        for i in 0..<texts.count { for j in (i + 1)..<texts.count { combinations.append((i, j)) } }
        if let k = pairsPerPrompt, k < combinations.count {
            // A deterministic shuffle seeded by the prompt, then the first k.
            var generator = SplitMix64(seed: Digest.sha256(prompt.json.jsonText))
            combinations.shuffle(using: &generator)
            combinations = Array(combinations.prefix(k)).sorted { $0 < $1 }
        }
        var pairs: [PairInput] = []
        for (i, j) in combinations {
            let pair = PairInput(
                externalID: id.map { "\($0):\(i)-\(j)" }, prompt: prompt, responseA: texts[i], responseB: texts[j],
                modelA: models[i], modelB: models[j], metadata: metadata
            )
            try check(pair)
            pairs.append(pair)
        }
        return pairs
    }

    private func hhRLHF(_ object: JSONObject) throws(ValidationError) -> PairInput {
        let known: Set<String> = ["id", "chosen", "rejected"]
        guard let chosen = object["chosen"]?.stringValue, let rejected = object["rejected"]?.stringValue else {
            throw ValidationError("chosen and rejected: expected HH-RLHF transcript strings (or add a prompt for TRL lines)")
        }
        let (chosenPrompt, chosenResponse) = try Self.splitTranscript(chosen, field: "chosen")
        let (rejectedPrompt, rejectedResponse) = try Self.splitTranscript(rejected, field: "rejected")
        guard chosenPrompt == rejectedPrompt else {
            throw ValidationError("chosen and rejected do not share the same conversation before the last Assistant turn")
        }
        var pair = PairInput(
            externalID: try externalID(object["id"]), prompt: chosenPrompt,
            responseA: chosenResponse, responseB: rejectedResponse, metadata: try metadata(object, known: known)
        )
        Self.randomizeSides(&pair)
        try check(pair)
        return pair
    }

    /// `"\n\nHuman: ...\n\nAssistant: ..."` → (conversation before the last
    /// Assistant turn, that turn's text).
    static func splitTranscript(_ transcript: String, field: String) throws(ValidationError) -> (Prompt, String) {
        let assistantMarker = "\n\nAssistant:"
        guard let last = transcript.ranges(of: assistantMarker).last else {
            throw ValidationError("\(field): no \"\\n\\nAssistant:\" turn in the transcript")
        }
        var response = String(transcript[last.upperBound...])
        if response.hasPrefix(" ") { response.removeFirst() }
        let before = String(transcript[..<last.lowerBound])
        var messages: [Prompt.Message] = []
        var rest = Substring(before)
        let markers: [(String, String)] = [("\n\nHuman:", "user"), ("\n\nAssistant:", "assistant")]
        while !rest.isEmpty {
            guard let (marker, role) = markers.first(where: { rest.hasPrefix($0.0) }) else {
                if messages.isEmpty && !rest.hasPrefix("\n\n") && rest.hasPrefix("Human:") {
                    rest = "\n\n" + rest
                    continue
                }
                throw ValidationError("\(field): the transcript must consist of \"\\n\\nHuman:\" and \"\\n\\nAssistant:\" turns")
            }
            rest = rest.dropFirst(marker.count)
            let next = markers.compactMap { rest.firstRange(of: $0.0)?.lowerBound }.min() ?? rest.endIndex
            var content = String(rest[..<next])
            if content.hasPrefix(" ") { content.removeFirst() }
            messages.append(Prompt.Message(role: role, content: content))
            rest = rest[next...]
        }
        guard !messages.isEmpty else { throw ValidationError("\(field): no Human turn before the last Assistant turn") }
        return (.messages(messages), response)
    }

    /// The chosen response arrives as A; put it on a side seeded by the content (so
    /// a re-import lands the same way) and keep the source's preference.
    static func randomizeSides(_ pair: inout PairInput) {
        let swapped = pair.contentHash[0] & 1 == 1
        if swapped { (pair.responseA, pair.responseB) = (pair.responseB, pair.responseA) }
        var metadata = pair.metadata ?? JSONObject()
        metadata["source_chosen"] = .string(swapped ? "B" : "A")
        pair.metadata = metadata
    }

    // MARK: Fields

    private func externalID(_ value: JSONValue?) throws(ValidationError) -> String? {
        guard let value, value != .null else { return nil }
        let id: String
        switch value {
        case .string(let text): id = text
        case .int(let number): id = String(number)
        default: throw ValidationError("id: expected a string or an integer, got \(value.typeName)")
        }
        guard !id.isEmpty, id.utf8.count <= limits.maxIDBytes else { throw ValidationError("id: 1 to \(limits.maxIDBytes) bytes") }
        guard !id.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw ValidationError("id: control characters are not allowed")
        }
        return id
    }

    private func prompt(_ value: JSONValue?) throws(ValidationError) -> Prompt {
        guard let value, value != .null else { throw ValidationError("prompt: missing") }
        let prompt: Prompt
        switch value {
        case .string(let text):
            guard !text.isEmpty else { throw ValidationError("prompt: empty") }
            prompt = .text(text)
        case .array(let items):
            guard !items.isEmpty else { throw ValidationError("prompt: empty message list") }
            var messages: [Prompt.Message] = []
            for (index, item) in items.enumerated() {
                guard let object = item.objectValue, let role = object["role"]?.stringValue, let content = object["content"]?.stringValue
                else {
                    throw ValidationError("prompt[\(index)]: expected {\"role\": string, \"content\": string}")
                }
                guard Prompt.roles.contains(role) else {
                    throw ValidationError("prompt[\(index)].role: expected one of \(Prompt.roles.sorted().joined(separator: ", "))")
                }
                messages.append(Prompt.Message(role: role, content: content))
            }
            prompt = .messages(messages)
        default:
            throw ValidationError("prompt: expected a string or a list of messages, got \(value.typeName)")
        }
        guard prompt.storedText.utf8.count <= limits.maxPromptBytes else {
            throw ValidationError("prompt: longer than \(limits.maxPromptBytes) bytes")
        }
        return prompt
    }

    private func response(_ value: JSONValue?, field: String) throws(ValidationError) -> String {
        guard let value, value != .null else { throw ValidationError("\(field): missing") }
        guard let text = value.stringValue else { throw ValidationError("\(field): expected a string, got \(value.typeName)") }
        guard text.utf8.count <= limits.maxResponseBytes else {
            throw ValidationError("\(field): longer than \(limits.maxResponseBytes) bytes")
        }
        return text
    }

    /// A TRL completion: a string, or a conversational list whose assistant turns are joined.
    private func completion(_ value: JSONValue?, field: String) throws(ValidationError) -> String {
        if let messages = value?.arrayValue {
            let parts = messages.compactMap { message -> String? in
                guard message["role"]?.stringValue == "assistant" else { return nil }
                return message["content"]?.stringValue
            }
            guard !parts.isEmpty else { throw ValidationError("\(field): no assistant message") }
            return try response(.string(parts.joined(separator: "\n\n")), field: field)
        }
        return try response(value, field: field)
    }

    private func optionalString(_ value: JSONValue?, field: String) throws(ValidationError) -> String? {
        guard let value, value != .null else { return nil }
        guard let text = value.stringValue, text.utf8.count <= 256 else {
            throw ValidationError("\(field): expected a string of at most 256 bytes")
        }
        return text
    }

    private func metadata(_ object: JSONObject, known: Set<String>) throws(ValidationError) -> JSONObject? {
        var metadata = JSONObject()
        if let given = object["metadata"], given != .null {
            guard let givenObject = given.objectValue else { throw ValidationError("metadata: expected an object, got \(given.typeName)") }
            metadata = givenObject
        }
        for member in object where !known.contains(member.key) && member.key != "metadata" {
            metadata[member.key] = member.value
        }
        guard !metadata.isEmpty else { return nil }
        guard JSONValue.object(metadata).serialized().count <= limits.maxMetadataBytes else {
            throw ValidationError("metadata: larger than \(limits.maxMetadataBytes) bytes")
        }
        return metadata
    }

    private func check(_ pair: PairInput) throws(ValidationError) {
        guard pair.responseA != pair.responseB else { throw ValidationError("the two responses are identical") }
    }
}
