import Glibc
public import HTTPClient
public import JSON
public import Threads

/// A model served behind an OpenAI-compatible chat completions API (vLLM,
/// llama.cpp's server, Ollama, TGI, hosted APIs).
public struct ModelEndpoint: Sendable, Equatable {
    /// The name admins and the leaderboard use.
    public var name: String
    /// E.g. `http://127.0.0.1:8000/v1` (the path up to `/chat/completions`).
    public var baseURL: String
    /// The `model` field sent.
    public var model: String
    /// Sent as `Authorization: Bearer …`; never logged or shown.
    public var apiKey: String?
    public var temperature: Double?
    public var topP: Double?
    public var maxTokens: Int?
    /// Seconds to connect; seconds the endpoint may stay silent mid-answer.
    public var connectTimeout = 10.0
    public var idleTimeout = 60.0
    /// A PEM file of CA certificates to trust instead of the system's.
    public var caFile: String?
    /// The most requests the server sends at once (arena battles; `generate` has its own `--concurrency`).
    public var concurrency = 8
    /// Ask for token counts (`stream_options.include_usage`, sent in a last chunk
    /// with no choices): judges report what they cost.
    public var requestsUsage = false

    public init(name: String, baseURL: String, model: String, apiKey: String? = nil) {
        self.name = name
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey
    }
}

/// One streamed chat completion.
public enum ChatCompletions {
    /// What a finished completion gave.
    public struct Completion: Sendable, Equatable {
        public var text: String
        public var chunks: Int
        public var finishReason: String?
        /// Milliseconds from the request to the first token, and to the end.
        public var firstTokenMilliseconds: Double?
        public var totalMilliseconds: Double
        /// Tokens in and out, when the endpoint sent `usage`.
        public var promptTokens: Int?
        public var completionTokens: Int?
    }

    /// Why a completion failed, for a person (never with the API key).
    public struct Failure: Error, CustomStringConvertible, Sendable, Equatable {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Streams a completion of `messages` (`{"role","content"}`) from `endpoint`;
    /// `token` is called with each piece of text as it arrives (return false to stop:
    /// the completion so far comes back with `finishReason` "cancelled"). Blocks its thread.
    public static func stream(
        _ endpoint: ModelEndpoint, messages: [(role: String, content: String)], token: @escaping (String) -> Bool = { _ in true }
    ) throws(Failure) -> Completion {
        let reading = Reading(endpoint, token: token)
        var failure: (any Error)?
        do {
            try HTTPClient.send(request(endpoint, messages: messages), head: reading.head, body: reading.body)
        } catch {
            failure = error
        }
        return try reading.finish(failure).get()
    }

    /// The same on a ``HTTPClient/StreamLoop``: opens the request on the calling
    /// thread, reads the answer on the loop (`token` runs there), and calls `done`
    /// once with the outcome.
    public static func stream(
        _ endpoint: ModelEndpoint, messages: [(role: String, content: String)], on loop: HTTPClient.StreamLoop,
        token: @escaping (String) -> Bool, done: @escaping (Result<Completion, Failure>) -> Void
    ) {
        let reading = Reading(endpoint, token: token)
        loop.start(request(endpoint, messages: messages), head: reading.head, body: reading.body) { error in done(reading.finish(error)) }
    }

    /// The same read on `watcher`'s thread (the event loop of the connection the
    /// answer goes to): opens the request on the calling thread, then `token` and
    /// `done` run on the watcher's.
    public static func stream(
        _ endpoint: ModelEndpoint, messages: [(role: String, content: String)], readOn watcher: any DescriptorWatcher,
        token: @escaping (String) -> Bool, done: @escaping (Result<Completion, Failure>) -> Void
    ) {
        let reading = Reading(endpoint, token: token)
        HTTPClient.stream(request(endpoint, messages: messages), readOn: watcher, head: reading.head, body: reading.body) { error in
            done(reading.finish(error))
        }
    }

    /// The request: `stream: true` with the endpoint's sampling parameters and key.
    static func request(_ endpoint: ModelEndpoint, messages: [(role: String, content: String)]) -> HTTPClient.Request {
        let base = endpoint.baseURL.hasSuffix("/") ? String(endpoint.baseURL.dropLast()) : endpoint.baseURL
        var body: JSONObject = [
            "model": .string(endpoint.model), "stream": true,
            "messages": .array(messages.map { ["role": .string($0.role), "content": .string($0.content)] }),
        ]
        if let temperature = endpoint.temperature { body["temperature"] = .double(temperature) }
        if let topP = endpoint.topP { body["top_p"] = .double(topP) }
        if let maxTokens = endpoint.maxTokens { body["max_tokens"] = .int(Int64(maxTokens)) }
        if endpoint.requestsUsage { body["stream_options"] = ["include_usage": true] }
        var request = HTTPClient.Request(url: base + "/chat/completions", body: Array(JSONValue.object(body).jsonText.utf8))
        request.headers = [("Content-Type", "application/json"), ("Accept", "text/event-stream")]
        if let key = endpoint.apiKey { request.headers.append(("Authorization", "Bearer " + key)) }
        request.connectTimeout = endpoint.connectTimeout
        request.idleTimeout = endpoint.idleTimeout
        request.caFile = endpoint.caFile
        return request
    }

    /// One answer being read: the status, the events parsed as they come, the text so far.
    final class Reading {
        let name: String
        let token: (String) -> Bool
        let started = ChatCompletions.monotonicMilliseconds()
        var status = 0
        var errorBody: [UInt8] = []
        var parser = ServerSentEvents()
        var completion = Completion(text: "", chunks: 0, finishReason: nil, firstTokenMilliseconds: nil, totalMilliseconds: 0)
        var done = false
        var problem: String?

        /// The endpoint's key: removed from anything the upstream says.
        let keys: [String]

        init(_ endpoint: ModelEndpoint, token: @escaping (String) -> Bool) {
            name = endpoint.name
            keys = endpoint.apiKey.map { [$0] } ?? []
            self.token = token
        }

        func head(_ head: HTTPClient.Head) { status = head.status }

        /// Takes a piece of the body; false: stop reading.
        func body(_ bytes: [UInt8]) -> Bool {
            guard status == 200 else {
                errorBody += bytes.prefix(max(0, 4096 - errorBody.count))
                return errorBody.count < 4096
            }
            let events: [ServerSentEvents.Event]
            do {
                events = try parser.feed(bytes)
            } catch {
                problem = "\(name) sent an event over 1 MiB"
                return false
            }
            for event in events {
                if event.data == "[DONE]" {
                    done = true
                    return false
                }
                let object = try? JSONValue.parse(Array(event.data.utf8))
                if let usage = object?["usage"], usage != .null {
                    // OpenAI sends it alone (empty `choices`) before [DONE]; others in the last chunk.
                    completion.promptTokens = usage["prompt_tokens"]?.intValue.map { Int(clamping: max(0, $0)) }
                    completion.completionTokens = usage["completion_tokens"]?.intValue.map { Int(clamping: max(0, $0)) }
                    if object?["choices"]?.arrayValue?.isEmpty == true { continue }
                }
                guard let object, let choice = object["choices"]?.arrayValue?.first else {
                    if let message = object?["error"]?["message"]?.stringValue {
                        problem = "\(name) stopped with an error: \(message)"
                    } else {
                        problem = "\(name) sent a malformed event: \(event.data.prefix(120))"
                    }
                    return false
                }
                if let piece = choice["delta"]?["content"]?.stringValue, !piece.isEmpty {
                    if completion.firstTokenMilliseconds == nil {
                        completion.firstTokenMilliseconds = ChatCompletions.monotonicMilliseconds() - started
                    }
                    completion.text += piece
                    completion.chunks += 1
                    if !token(piece) {
                        completion.finishReason = "cancelled"
                        return false
                    }
                }
                if let reason = choice["finish_reason"]?.stringValue { completion.finishReason = reason }
            }
            return true
        }

        /// The outcome, once reading ended (with `error` if it broke).
        func finish(_ error: (any Error)?) -> Result<Completion, Failure> {
            if let error {
                let detail = (error as? HTTPClientError)?.description ?? String(describing: error)
                return .failure(Failure(description: "\(name): \(SecretRedaction.redact(detail, keys: keys))"))
            }
            if status != 200 {
                let message =
                    (try? JSONValue.parse(errorBody))?["error"]?["message"]?.stringValue
                    ?? String(decoding: errorBody.prefix(200), as: UTF8.self)
                let said = SecretRedaction.redact(message, keys: keys)
                return .failure(Failure(description: "\(name) answered \(status)\(said.isEmpty ? "" : ": \(said)")"))
            }
            if let problem { return .failure(Failure(description: SecretRedaction.redact(problem, keys: keys))) }
            guard done || completion.finishReason != nil else {
                return .failure(Failure(description: "\(name) ended the stream before finishing (no [DONE] and no finish_reason)"))
            }
            completion.totalMilliseconds = ChatCompletions.monotonicMilliseconds() - started
            return .success(completion)
        }
    }
}

extension ChatCompletions {
    /// A monotonic clock in milliseconds (for the timings of an answer).
    static func monotonicMilliseconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) * 1000 + Double(spec.tv_nsec) / 1_000_000
    }
}
