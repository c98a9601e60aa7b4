public import ModelEndpoints
import Dispatch
public import JSON
public import Storage
import Synchronization

extension ModelEndpoint {
    /// Reads a server-side endpoints file — the only place API keys live (never
    /// in the database, the browser or a log):
    ///
    /// ```json
    /// {"endpoints": [{"name": "llama", "base_url": "http://127.0.0.1:8000/v1", "model": "llama-3-8b-instruct",
    ///                 "api_key_env": "LLAMA_KEY", "temperature": 0.7, "max_tokens": 512, "timeout_seconds": 60}]}
    /// ```
    ///
    /// `api_key` gives the key itself, `api_key_env` the environment variable
    /// holding it; `ca_file` a PEM bundle to trust instead of the system's roots;
    /// `concurrency` the most requests the server sends it at once (arena battles).
    public static func load(json value: JSONValue, environment: (String) -> String?) throws(ValidationError) -> [ModelEndpoint] {
        guard let list = value["endpoints"]?.arrayValue else { throw ValidationError("endpoints file: expected {\"endpoints\": [...]}") }
        var endpoints: [ModelEndpoint] = []
        let known: Set<String> = [
            "name", "base_url", "model", "api_key", "api_key_env", "temperature", "top_p", "max_tokens",
            "timeout_seconds", "connect_timeout_seconds", "ca_file", "concurrency",
        ]
        for (index, item) in list.enumerated() {
            let at = "endpoints[\(index)]"
            guard let object = item.objectValue else { throw ValidationError("\(at): expected an object") }
            if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                throw ValidationError("\(at).\(unknown): unknown field")
            }
            guard let name = object["name"]?.stringValue, isValidName(name) else {
                throw ValidationError("\(at).name: 1 to 64 letters, digits, - _ . or :")
            }
            guard !endpoints.contains(where: { $0.name == name }) else { throw ValidationError("\(at).name: '\(name)' appears twice") }
            guard let base = object["base_url"]?.stringValue, base.hasPrefix("http://") || base.hasPrefix("https://") else {
                throw ValidationError("\(at).base_url: an http:// or https:// URL, e.g. http://127.0.0.1:8000/v1")
            }
            guard let model = object["model"]?.stringValue, !model.isEmpty else {
                throw ValidationError("\(at).model: the model name to send")
            }
            var endpoint = ModelEndpoint(name: name, baseURL: base, model: model)
            if let key = object["api_key"]?.stringValue { endpoint.apiKey = key }
            if let variable = object["api_key_env"]?.stringValue {
                guard let key = environment(variable), !key.isEmpty else {
                    throw ValidationError("\(at).api_key_env: \(variable) is not set")
                }
                endpoint.apiKey = key
            }
            func number(_ key: String, _ range: ClosedRange<Double>) throws(ValidationError) -> Double? {
                guard let value = object[key] else { return nil }
                guard let number = value.doubleValue, range.contains(number) else {
                    throw ValidationError("\(at).\(key): a number from \(range.lowerBound) to \(range.upperBound)")
                }
                return number
            }
            endpoint.temperature = try number("temperature", 0...2)
            endpoint.topP = try number("top_p", 0...1)
            endpoint.maxTokens = try number("max_tokens", 1...1_000_000).map { Int($0) }
            endpoint.idleTimeout = try number("timeout_seconds", 1...3600) ?? endpoint.idleTimeout
            endpoint.connectTimeout = try number("connect_timeout_seconds", 1...600) ?? endpoint.connectTimeout
            endpoint.caFile = object["ca_file"]?.stringValue
            endpoint.concurrency = try number("concurrency", 1...1024).map { Int($0) } ?? endpoint.concurrency
            endpoints.append(endpoint)
        }
        return endpoints
    }

    /// 1 to 64 letters, digits, `-`, `_`, `.` or `:`.
    public static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) })
    }
}

/// `arbiter generate`: fills a project with responses from models for imported
/// prompts. Each prompt gets one response from each endpoint (at most
/// `concurrency` requests at a time); then, in one transaction, a pairwise project
/// gets every pair of them (`model_a`/`model_b` named, id `PROMPT:A-B`) and a
/// ranking or rating project one task (id `PROMPT`). A prompt whose rows are all
/// there already is skipped, so a run that stopped — or failed for some prompts —
/// is simply run again.
public enum Generator {
    public struct Report: Sendable {
        public var prompts = 0
        public var generated = 0
        public var skipped = 0
        public var rows = 0
        public var failures: [(line: Int, message: String)] = []

        public var json: JSONValue {
            [
                "prompts": .int(Int64(prompts)), "generated": .int(Int64(generated)), "skipped": .int(Int64(skipped)),
                "rows": .int(Int64(rows)),
                "failures": .array(failures.map { ["line": .int(Int64($0.line)), "message": .string($0.message)] }),
            ]
        }
    }

    /// A prompt line: `{"id"?, "prompt": text or [{"role","content"}…]}`.
    struct PromptLine: Sendable {
        var line: Int
        var id: String
        var prompt: Prompt
    }

    public static func run(
        _ db: any Database, project: Project, endpoints: [ModelEndpoint], prompts reader: inout JSONLReader, concurrency: Int,
        progress: (Report) -> Void = { _ in }
    ) throws -> Report {
        guard endpoints.count >= 2 else { throw ValidationError("--endpoints: at least two, to compare") }
        if project.settings.kind != .pairwise && endpoints.count > TaskKind.maxResponses {
            throw ValidationError("--endpoints: at most \(TaskKind.maxResponses) for a \(project.settings.kind.rawValue) project")
        }
        var report = Report()
        var batch: [PromptLine] = []
        let batchSize = max(1, concurrency)
        while true {
            let line: ArraySlice<UInt8>?
            do {
                line = try reader.nextLine()
            } catch {
                throw ValidationError("line \(error.line): longer than \(error.limit) bytes")
            }
            if let line, line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            if let line {
                report.prompts += 1
                do throws(ValidationError) {
                    batch.append(try parse(line, number: reader.lineNumber))
                } catch {
                    report.failures.append((reader.lineNumber, error.message))
                }
            }
            if batch.count >= batchSize || (line == nil && !batch.isEmpty) {
                try generate(batch, db: db, project: project, endpoints: endpoints, concurrency: concurrency, report: &report)
                batch.removeAll()
                progress(report)
            }
            if line == nil { return report }
        }
    }

    static func parse(_ line: ArraySlice<UInt8>, number: Int) throws(ValidationError) -> PromptLine {
        guard let object = (try? line.withUnsafeBufferPointer { buffer throws(JSONError) in try JSONValue.parse(buffer) })?.objectValue
        else {
            throw ValidationError("expected a JSON object {\"id\", \"prompt\"}")
        }
        let prompt: Prompt
        switch object["prompt"] {
        case .string(let text)? where !text.isEmpty:
            prompt = .text(text)
        case .array(let items)? where !items.isEmpty:
            var messages: [Prompt.Message] = []
            for item in items {
                guard let role = item["role"]?.stringValue, Prompt.roles.contains(role), let content = item["content"]?.stringValue else {
                    throw ValidationError("prompt: messages are {\"role\", \"content\"}")
                }
                messages.append(Prompt.Message(role: role, content: content))
            }
            prompt = .messages(messages)
        default:
            throw ValidationError("prompt: a string or a list of messages")
        }
        let id: String
        switch object["id"] {
        case .string(let text)? where !text.isEmpty && text.utf8.count <= 200: id = text
        case .int(let value)?: id = String(value)
        case nil: id = "sha256:" + Digest.hex(Array(Digest.sha256(prompt.json.jsonText).prefix(12)))
        default: throw ValidationError("id: a string of 1 to 200 bytes or an integer")
        }
        return PromptLine(line: number, id: id, prompt: prompt)
    }

    /// The chat messages for a prompt.
    static func messages(_ prompt: Prompt) -> [(role: String, content: String)] {
        switch prompt {
        case .text(let text): return [("user", text)]
        case .messages(let messages): return messages.map { ($0.role, $0.content) }
        }
    }

    /// The rows a prompt becomes.
    static func rows(_ prompt: PromptLine, texts: [String], endpoints: [ModelEndpoint], kind: TaskKind) -> [PairInput] {
        let metadata: JSONObject = ["prompt_id": .string(prompt.id), "generated": true]
        guard kind == .pairwise else {
            return [
                PairInput(
                    externalID: prompt.id, prompt: prompt.prompt, responseA: texts[0], responseB: texts[1],
                    modelA: endpoints[0].name, modelB: endpoints[1].name, metadata: metadata, gold: nil,
                    responses: texts, models: endpoints.map(\.name))
            ]
        }
        var pairs: [PairInput] = []
        for i in endpoints.indices {
            for j in endpoints.indices where j > i {
                pairs.append(
                    PairInput(
                        externalID: "\(prompt.id):\(endpoints[i].name)-\(endpoints[j].name)", prompt: prompt.prompt,
                        responseA: texts[i], responseB: texts[j], modelA: endpoints[i].name, modelB: endpoints[j].name,
                        metadata: metadata, gold: nil))
            }
        }
        return pairs
    }

    static func generate(
        _ batch: [PromptLine], db: any Database, project: Project, endpoints: [ModelEndpoint], concurrency: Int, report: inout Report
    ) throws {
        // Skip prompts whose rows are all there (an earlier run made them).
        let todo = try pending(batch, db: db, project: project, endpoints: endpoints, report: &report)
        guard !todo.isEmpty else { return }
        // Every (prompt, endpoint) request, at most `concurrency` at a time.
        let jobs = todo.indices.flatMap { p in endpoints.indices.map { (p, $0) } }
        let conversations = todo.map { messages($0.prompt) }
        let results = Mutex([String: Result<String, ChatCompletions.Failure>]())
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: min(max(1, concurrency), jobs.count)) { _ in
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < jobs.count else { return }
                let (p, e) = jobs[index]
                let outcome: Result<String, ChatCompletions.Failure>
                do throws(ChatCompletions.Failure) {
                    outcome = .success(try ChatCompletions.stream(endpoints[e], messages: conversations[p]).text)
                } catch {
                    outcome = .failure(error)
                }
                results.withLock { $0["\(p)/\(e)"] = outcome }
            }
        }
        let outcomes = results.withLock { $0 }
        try db.transaction { try store(todo, outcomes: outcomes, db: db, project: project, endpoints: endpoints, report: &report) }
    }

    /// The prompts of `batch` not generated yet (the others counted as skipped).
    static func pending(
        _ batch: [PromptLine], db: any Database, project: Project, endpoints: [ModelEndpoint], report: inout Report
    ) throws -> [PromptLine] {
        var todo: [PromptLine] = []
        for prompt in batch {
            let ids = rows(prompt, texts: Array(repeating: "", count: endpoints.count), endpoints: endpoints, kind: project.settings.kind)
                .compactMap(\.externalID)
            let present = try ids.allSatisfy { id in
                try PairRows.exists(db, projectID: project.id, externalID: id)
            }
            if present { report.skipped += 1 } else { todo.append(prompt) }
        }
        return todo
    }

    /// Writes the prompts every endpoint answered (`outcomes["p/e"]`), inside the caller's transaction.
    static func store(
        _ todo: [PromptLine], outcomes: [String: Result<String, ChatCompletions.Failure>], db: any Database, project: Project,
        endpoints: [ModelEndpoint], report: inout Report
    ) throws {
        let writer = try PairRows(db, projectID: project.id, importID: nil)
        var written = ImportReport()
        for (p, prompt) in todo.enumerated() {
            var texts: [String] = []
            var failure: String?
            for e in endpoints.indices {
                switch outcomes["\(p)/\(e)"] {
                case .success(let text)?: texts.append(text)
                case .failure(let error)?: failure = failure ?? error.description
                case nil: failure = failure ?? "\(endpoints[e].name): no answer"
                }
            }
            if let failure {
                report.failures.append((prompt.line, failure))
                continue
            }
            if Set(texts).count < texts.count {
                report.failures.append((prompt.line, "two endpoints gave the same response; nothing to compare"))
                continue
            }
            try writer.insert(
                rows(prompt, texts: texts, endpoints: endpoints, kind: project.settings.kind), line: prompt.line, into: &written)
            report.generated += 1
        }
        report.rows += written.imported
        for error in written.errors { report.failures.append((0, error)) }
    }
}
