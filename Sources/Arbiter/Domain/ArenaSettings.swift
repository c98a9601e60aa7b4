import ModelEndpoints
public import JSON

/// An arena project's settings: which of the server's model endpoints battle, how
/// often one annotator may send a prompt, how long a conversation may run before
/// the vote, and what is checked before a prompt leaves the server.
///
/// ```json
/// "arena": {"endpoints": ["llama-8b", "qwen-7b", "mistral-7b"], "prompts_per_hour": 30, "max_turns": 3,
///           "blocked_words": ["password"], "moderation": false, "prompt_pool": ["Explain RAID 5"]}
/// ```
public struct ArenaSettings: Sendable, Equatable {
    /// Names of endpoints in the server's endpoints file; each battle draws two.
    public var endpoints: [String]
    /// Prompts (first turns and follow-ups) one annotator may send per hour in this project.
    public var promptsPerHour = 30
    /// Turns in one battle (the first prompt and its follow-ups) before it must be voted on.
    public var maxTurns = 3
    /// A prompt containing one of these words (case-insensitive, whole words) is refused.
    public var blockedWords: [String] = []
    /// Send each prompt to the server's moderation endpoint first (refused if flagged or unreachable).
    public var moderation = false
    /// Prompts an annotator may draw instead of typing one.
    public var promptPool: [String] = []

    public init(endpoints: [String]) { self.endpoints = endpoints }

    static let fields: Set<String> = ["endpoints", "prompts_per_hour", "max_turns", "blocked_words", "moderation", "prompt_pool"]

    /// Reads `"arena": {…}`; each wrong field is named.
    public static func parse(_ value: JSONValue) throws(ValidationError) -> ArenaSettings {
        guard let object = value.objectValue else { throw ValidationError("arena: expected an object {\"endpoints\": [...], ...} or null") }
        if let unknown = object.keys.sorted().first(where: { !fields.contains($0) }) {
            throw ValidationError("arena.\(unknown): unknown field")
        }
        func strings(_ key: String) throws(ValidationError) -> [String]? {
            guard let value = object[key] else { return nil }
            guard let list = value.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                throw ValidationError("arena.\(key): expected a list of strings")
            }
            return list.compactMap(\.stringValue)
        }
        func integer(_ key: String) throws(ValidationError) -> Int? {
            guard let value = object[key] else { return nil }
            guard let number = value.intValue, let int = Int(exactly: number) else {
                throw ValidationError("arena.\(key): expected a whole number")
            }
            return int
        }
        var settings = ArenaSettings(endpoints: try strings("endpoints") ?? [])
        if let value = try integer("prompts_per_hour") { settings.promptsPerHour = value }
        if let value = try integer("max_turns") { settings.maxTurns = value }
        if let value = try strings("blocked_words") { settings.blockedWords = value.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty } }
        if let value = object["moderation"] {
            guard let flag = value.boolValue else { throw ValidationError("arena.moderation: expected true or false") }
            settings.moderation = flag
        }
        if let value = try strings("prompt_pool") { settings.promptPool = value.filter { !$0.trimmingWhitespace().isEmpty } }
        try settings.validate()
        return settings
    }

    public func validate() throws(ValidationError) {
        guard endpoints.count >= 2 else { throw ValidationError("arena.endpoints: at least two endpoint names, to battle") }
        guard endpoints.count <= 32 else { throw ValidationError("arena.endpoints: at most 32") }
        guard Set(endpoints).count == endpoints.count else { throw ValidationError("arena.endpoints: each name once") }
        for name in endpoints where !ModelEndpoint.isValidName(name) {
            throw ValidationError("arena.endpoints: '\(name.prefix(64))' is not an endpoint name (1 to 64 letters, digits, - _ . or :)")
        }
        guard (1...10_000).contains(promptsPerHour) else { throw ValidationError("arena.prompts_per_hour: 1 to 10000") }
        guard (1...20).contains(maxTurns) else { throw ValidationError("arena.max_turns: 1 to 20") }
        guard blockedWords.count <= 1000, blockedWords.allSatisfy({ $0.utf8.count <= 100 }) else {
            throw ValidationError("arena.blocked_words: at most 1000 words of 100 bytes")
        }
        guard promptPool.count <= 10_000, promptPool.allSatisfy({ $0.utf8.count <= ArenaSettings.maxPromptBytes }) else {
            throw ValidationError("arena.prompt_pool: at most 10000 prompts of \(ArenaSettings.maxPromptBytes / 1000) KB")
        }
    }

    /// The longest prompt an annotator may send (bytes).
    public static let maxPromptBytes = 20_000

    public var json: JSONValue {
        [
            "endpoints": .array(endpoints.map { .string($0) }), "prompts_per_hour": .int(Int64(promptsPerHour)),
            "max_turns": .int(Int64(maxTurns)), "blocked_words": .array(blockedWords.map { .string($0) }),
            "moderation": .bool(moderation), "prompt_pool": .array(promptPool.map { .string($0) }),
        ]
    }

    /// The first blocked word (or phrase) `text` contains as whole words, if any,
    /// both read as ``BlockedWordText`` reads them (look-alikes, invisible
    /// characters and spacing folded).
    public func blockedWord(in text: String) -> String? {
        guard !blockedWords.isEmpty else { return nil }
        func words(_ text: String) -> [Substring] {
            BlockedWordText.normalise(text).split(whereSeparator: { !$0.isLetter && !$0.isNumber })
        }
        let said = words(text)
        let present = Set(said)
        for blocked in blockedWords {
            let key = words(blocked)
            guard let first = key.first, present.contains(first) else { continue }
            if key.count == 1 { return blocked }
            // A phrase: its words in a row.
            for start in said.indices where said[start] == first && start + key.count <= said.count {
                if said[start..<(start + key.count)].elementsEqual(key) { return blocked }
            }
        }
        return nil
    }
}
