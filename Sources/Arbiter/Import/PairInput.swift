public import JSON
import Storage

/// A prompt: plain text or a conversation.
public enum Prompt: Sendable, Equatable {
    case text(String)
    case messages([Message])

    /// One turn of a conversation.
    public struct Message: Sendable, Equatable {
        public var role: String
        public var content: String
    }

    /// The JSON value stored and served (a string or a message list).
    public var json: JSONValue {
        switch self {
        case .text(let text): return .string(text)
        case .messages(let messages):
            return .array(messages.map { .object(["role": .string($0.role), "content": .string($0.content)]) })
        }
    }

    /// The stored text: the string itself, or the message list as JSON.
    var storedText: String {
        switch self {
        case .text(let text): return text
        case .messages: return json.jsonText
        }
    }

    var isMessages: Bool {
        if case .messages = self { return true }
        return false
    }

    /// Reads a stored prompt back.
    static func stored(_ text: String, isMessages: Bool) -> Prompt {
        guard isMessages, let array = (try? JSONValue.parse(text))?.arrayValue else { return .text(text) }
        return .messages(array.map { Message(role: $0["role"]?.stringValue ?? "user", content: $0["content"]?.stringValue ?? "") })
    }

    /// The roles a message may have.
    static let roles: Set<String> = ["system", "user", "assistant", "tool", "developer"]
}

/// One pair ready to store.
public struct PairInput: Sendable, Equatable {
    public var externalID: String?
    public var prompt: Prompt
    public var responseA: String
    public var responseB: String
    public var modelA: String?
    public var modelB: String?
    public var metadata: JSONObject?
    public var gold: Choice?
    /// A ranking or rating task's responses, all K of them (`responseA` and
    /// `responseB` are the first two); nil for a pair.
    public var responses: [String]? = nil
    /// The models of `responses`, where the line named them.
    public var models: [String?]? = nil

    /// Every response: a task's K, or a pair's two.
    public var allResponses: [String] { responses ?? [responseA, responseB] }

    /// SHA-256 over the prompt and the responses, independent of their order:
    /// the same comparison (or task) imported twice, in any order, is one row.
    public var contentHash: [UInt8] {
        var bytes = Array(prompt.json.jsonText.utf8)
        for response in allResponses.sorted() {
            bytes.append(0)
            bytes.append(contentsOf: response.utf8)
        }
        return Digest.sha256(bytes)
    }
}
