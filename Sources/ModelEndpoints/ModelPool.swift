public import Threads
import HTTPClient
public import JSON
import Synchronization

/// The model endpoints a server may call (from its endpoints file), with each
/// one's concurrency limit kept, and the threads the calls run on.
///
/// A call is opened (connect, TLS, the request sent) on one of a few dedicated
/// threads, then its streamed answer is read on the event loop of the caller's
/// connection when the call comes from one (``DescriptorWatchers/current``: a
/// token goes from the model's socket to the annotator's on one thread), else on
/// one ``HTTPClient/StreamLoop`` thread with every other answer — never blocking
/// an event loop or Swift's cooperative pool. A call is only started once its endpoint has a free slot
/// (``reserve(_:)``), so nothing waits in a queue longer than an open takes.
public final class ModelPool: Sendable {
    /// In the file's order.
    public let endpoints: [ModelEndpoint]
    /// `POST {base_url}/moderations` (OpenAI's moderation API), if configured.
    public let moderation: ModelEndpoint?
    private let running: Mutex<[String: Int]>
    /// Open requests (and ask the moderation endpoint).
    private let threads: ThreadPool?
    /// Read every streamed answer.
    private let loop: HTTPClient.StreamLoop?

    /// The most threads a server keeps for opening model calls.
    public static let maxThreads = 16

    public init(endpoints: [ModelEndpoint], moderation: ModelEndpoint? = nil) {
        self.endpoints = endpoints
        self.moderation = moderation
        running = Mutex([:])
        let wanted = endpoints.reduce(0) { $0 + $1.concurrency } + (moderation?.concurrency ?? 0)
        threads = wanted == 0 ? nil : ThreadPool(name: "models", threads: min(wanted, Self.maxThreads))
        loop = endpoints.isEmpty ? nil : HTTPClient.StreamLoop()
    }

    /// No endpoints: arena projects are refused with a message.
    public static let none = ModelPool(endpoints: [])

    public func endpoint(named name: String) -> ModelEndpoint? { endpoints.first { $0.name == name } }

    /// Takes one slot of each named endpoint, or none (false) if one is full.
    public func reserve(_ names: [String]) -> Bool {
        running.withLock { running in
            for name in names {
                guard let endpoint = endpoint(named: name), running[name, default: 0] < endpoint.concurrency else { return false }
            }
            for name in names { running[name, default: 0] += 1 }
            return true
        }
    }

    /// Gives back a slot taken by ``reserve(_:)``.
    public func release(_ name: String) {
        running.withLock { running in running[name] = max(0, running[name, default: 0] - 1) }
    }

    /// Requests running per endpoint (for `/metrics`-style diagnostics and tests).
    public var inFlight: [String: Int] { running.withLock { $0 } }

    /// Streams a completion: opened on a model thread, read on the calling
    /// thread's event loop if it has one (`watcher`, by default the current one),
    /// else on the stream loop; `token` gets each piece there (return false to
    /// stop). The caller holds a slot of the endpoint.
    public func complete(
        _ endpoint: ModelEndpoint, messages: [(role: String, content: String)],
        readOn watcher: (any DescriptorWatcher)? = DescriptorWatchers.current, token: @escaping @Sendable (String) -> Bool
    ) async -> Result<ChatCompletions.Completion, ChatCompletions.Failure> {
        guard let threads, let loop else { return .failure(ChatCompletions.Failure(description: "\(endpoint.name): no model threads")) }
        let messages = messages.map { Message(role: $0.role, content: $0.content) }
        let relay = watcher.map(Relay.init)
        return await withCheckedContinuation { continuation in
            let submitted = threads.submit {
                let pairs = messages.map { ($0.role, $0.content) }
                let finish = { (result: Result<ChatCompletions.Completion, ChatCompletions.Failure>) in
                    continuation.resume(returning: result)
                }
                if let relay {
                    ChatCompletions.stream(endpoint, messages: pairs, readOn: relay.watcher, token: token, done: finish)
                } else {
                    ChatCompletions.stream(endpoint, messages: pairs, on: loop, token: token, done: finish)
                }
            }
            if !submitted {
                continuation.resume(
                    returning: .failure(ChatCompletions.Failure(description: "\(endpoint.name): the server is shutting down")))
            }
        }
    }

    /// What the moderation endpoint said of a prompt.
    public enum Moderation: Sendable, Equatable {
        case passed
        /// Flagged, with the categories it named.
        case refused(categories: [String])
        /// Unreachable or unreadable: the prompt is not sent.
        case unavailable
    }

    /// Asks the moderation endpoint about `text` (passed when there is none).
    public func moderate(_ text: String) async -> Moderation {
        guard let moderation, let threads else { return .passed }
        return (try? await threads.run { Self.ask(moderation, text) }) ?? .unavailable
    }

    private static func ask(_ endpoint: ModelEndpoint, _ text: String) -> Moderation {
        let base = endpoint.baseURL.hasSuffix("/") ? String(endpoint.baseURL.dropLast()) : endpoint.baseURL
        let body: JSONValue = ["model": .string(endpoint.model), "input": .string(text)]
        var request = HTTPClient.Request(url: base + "/moderations", body: Array(body.jsonText.utf8))
        request.headers = [("Content-Type", "application/json")]
        if let key = endpoint.apiKey { request.headers.append(("Authorization", "Bearer " + key)) }
        request.connectTimeout = endpoint.connectTimeout
        request.idleTimeout = endpoint.idleTimeout
        request.caFile = endpoint.caFile
        request.maxBodyBytes = 1 << 20
        guard let (head, bytes) = try? HTTPClient.fetch(request), head.status == 200,
            let result = (try? JSONValue.parse(bytes))?["results"]?.arrayValue?.first,
            let flagged = result["flagged"]?.boolValue
        else {
            return .unavailable
        }
        guard flagged else { return .passed }
        return .refused(categories: (result["categories"]?.objectValue ?? [:]).filter { $0.value.boolValue == true }.map(\.key).sorted())
    }

    /// A watcher handed to a model thread.
    private struct Relay: @unchecked Sendable {
        // @unchecked Sendable: DescriptorWatcher is Sendable; the existential box is not inferred so.
        let watcher: any DescriptorWatcher
    }

    private struct Message: Sendable {
        var role: String
        var content: String
    }
}
