public import ModelEndpoints
import JSON
import Storage

/// Generation from the admin page: the page sends the prompts file in batches of
/// lines, each answered once every endpoint has answered each prompt of it (so
/// the page shows progress and a stopped run is simply sent again — prompts
/// already generated are skipped). Model calls run on the ``ModelPool``'s threads
/// within each endpoint's concurrency limit; the rows are written in one
/// transaction per batch, as `arbiter generate` writes them.
public struct GenerateService: Sendable {
    let store: ArbiterStore
    let models: ModelPool

    /// The most prompt lines one request may carry.
    public static let maxLines = 50
    /// The largest `firstLine` (a file of a billion lines is not a prompts file).
    public static let maxFirstLine = 1_000_000_000
    /// How long a request waits for an endpoint's free slot (seconds).
    static let slotWait = 120.0

    public init(store: ArbiterStore, models: ModelPool) {
        self.store = store
        self.models = models
    }

    /// Generates for the prompt lines of `body` (JSONL); `firstLine` is the file line
    /// of its first line, so failures name lines of the admin's file.
    public func run(projectID: Int, endpointNames: [String], body: [UInt8], firstLine: Int) async throws -> Generator.Report {
        guard (1...Self.maxFirstLine).contains(firstLine) else {
            throw ValidationError("first_line: a line number from 1 to \(Self.maxFirstLine)")
        }
        var endpoints: [ModelEndpoint] = []
        for name in endpointNames where !endpoints.contains(where: { $0.name == name }) {
            guard let endpoint = models.endpoint(named: name) else {
                let known = models.endpoints.map(\.name)
                throw ValidationError(
                    known.isEmpty
                        ? "endpoints: this server has no model endpoints (start it with --endpoints-file)"
                        : "endpoints: '\(name)' is not one of this server's endpoints (\(known.joined(separator: ", ")))")
            }
            endpoints.append(endpoint)
        }
        guard endpoints.count >= 2 else { throw ValidationError("endpoints: at least two, to compare") }
        guard let project = try await store.pool.read({ db in try Projects.find(db, id: projectID) }) else {
            throw ServiceError.noSuchProject
        }
        if project.settings.kind != .pairwise && endpoints.count > TaskKind.maxResponses {
            throw ValidationError("endpoints: at most \(TaskKind.maxResponses) for a \(project.settings.kind.rawValue) project")
        }
        var report = Generator.Report()
        var prompts: [Generator.PromptLine] = []
        var reader = JSONLReader(bytes: body)
        while true {
            let line: ArraySlice<UInt8>?
            do {
                line = try reader.nextLine()
            } catch {
                throw ValidationError("line \(error.line + firstLine - 1): longer than \(error.limit) bytes")
            }
            guard let line else { break }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            report.prompts += 1
            guard report.prompts <= Self.maxLines else { throw ValidationError("at most \(Self.maxLines) prompt lines per request") }
            let number = reader.lineNumber + firstLine - 1
            do throws(ValidationError) {
                prompts.append(try Generator.parse(line, number: number))
            } catch {
                report.failures.append((number, error.message))
            }
        }
        let (counted, parsed, chosen) = (report, prompts, endpoints)
        let (todo, skipped) = try await store.pool.read { db in
            var scratch = counted
            let todo = try Generator.pending(parsed, db: db, project: project, endpoints: chosen, report: &scratch)
            return (todo, scratch.skipped)
        }
        report.skipped = skipped
        guard !todo.isEmpty else { return report }

        let models = self.models
        let outcomes = await withTaskGroup(of: (String, Result<String, ChatCompletions.Failure>).self) { group in
            for (p, prompt) in todo.enumerated() {
                let messages = Generator.messages(prompt.prompt)
                for (e, endpoint) in endpoints.enumerated() {
                    group.addTask {
                        let waitUntil = Clock.monotonicMilliseconds() + Self.slotWait * 1000
                        while !models.reserve([endpoint.name]) {
                            guard Clock.monotonicMilliseconds() < waitUntil else {
                                return (
                                    "\(p)/\(e)",
                                    .failure(ChatCompletions.Failure(description: "\(endpoint.name): busy for \(Int(Self.slotWait)) s"))
                                )
                            }
                            try? await Task.sleep(for: .milliseconds(50))
                        }
                        let result = await models.complete(endpoint, messages: messages) { _ in true }
                        models.release(endpoint.name)
                        return ("\(p)/\(e)", result.map(\.text))
                    }
                }
            }
            var outcomes: [String: Result<String, ChatCompletions.Failure>] = [:]
            for await (key, result) in group { outcomes[key] = result }
            return outcomes
        }
        let before = report
        return try await store.pool.write { db in
            var report = before
            try Generator.store(todo, outcomes: outcomes, db: db, project: project, endpoints: chosen, report: &report)
            return report
        }
    }
}
