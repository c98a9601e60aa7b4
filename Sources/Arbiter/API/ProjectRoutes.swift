import ModelEndpoints
import CLinux
import HTTPServer
import JSON
import Storage
import Threads

/// Projects: create and edit (admins), the list and one project (everyone signed in),
/// the dashboard, agreement and rater reports and rater decisions, the dataset audit
/// of a project or of an uploaded file (reviewers and admins).
struct ProjectRoutes: Sendable {
    let store: ArbiterStore
    var projects: ProjectService { ProjectService(store: store) }
    let now: @Sendable () -> Int64
    let models: ModelPool
    /// Largest file `POST /api/dataset-audits` takes (the CLI reads any size).
    static let maxAuditBytes = 64 * 1024 * 1024

    /// An arena's endpoints must be ones this server can call.
    func checkEndpoints(_ arena: ArenaSettings?) throws(ValidationError) {
        guard let arena else { return }
        let known = models.endpoints.map(\.name)
        if let missing = arena.endpoints.first(where: { !known.contains($0) }) {
            throw ValidationError(
                known.isEmpty
                    ? "arena.endpoints: this server has no model endpoints (start it with --endpoints-file)"
                    : "arena.endpoints: '\(missing)' is not one of this server's endpoints (\(known.joined(separator: ", ")))")
        }
    }

    /// A project as the caller may see it. An annotator never learns how often gold
    /// pairs and repeats are mixed in, and sees that a project is an arena and its
    /// limits, not its endpoints, blocked words or prompt pool.
    static func view(_ project: Project, role: Role) -> JSONValue {
        annotatorView(project.json, project: project, role: role)
    }

    /// `json` (a project or its summary) with what an annotator may not see removed.
    static func annotatorView(_ json: JSONValue, project: Project, role: Role) -> JSONValue {
        guard role == .annotator, var object = json.objectValue else { return json }
        object["gold_rate"] = nil
        object["repeat_rate"] = nil
        object["repeat_after_judgements"] = nil
        object["repeat_after_minutes"] = nil
        if let arena = project.settings.arena {
            object["arena"] = ["prompts_per_hour": .int(Int64(arena.promptsPerHour)), "max_turns": .int(Int64(arena.maxTurns))]
        }
        return .object(object)
    }

    func register(on api: inout APIRouter) {
        api.add(.POST, "/api/projects", .admin) { request, caller in
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            if let unknown = object.keys.first(where: { $0 != "name" && !ProjectSettings.fields.contains($0) }) {
                throw ValidationError("\(unknown): unknown field")
            }
            guard let name = object["name"]?.stringValue else { throw ValidationError("name: expected a string") }
            var parsed = ProjectSettings()
            try parsed.apply(object)
            try checkEndpoints(parsed.arena)
            let settings = parsed
            let (address, now) = (request.remoteAddress, now())
            let project = try await projects.create(
                name: name, settings: settings, actor: caller.user.id, via: "api",
                address: address, now: now)
            return .json(["project": project.json], status: .created)
        }
        api.add(.PATCH, "/api/projects/{id}", .admin) { request, caller in
            let id = try request.parameters.int("id")
            guard let changes = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            if let arena = changes["arena"], arena != .null { try checkEndpoints(try ArenaSettings.parse(arena)) }
            let (address, now) = (request.remoteAddress, now())
            let project = try await projects.update(id: id, changes: changes, actor: caller.user.id, address: address, now: now)
            return .json(["project": project.json])
        }
        api.add(.GET, "/api/projects/{id}/dashboard", .reviewing) { request, _ in
            .json(try await projects.dashboard(id: try request.parameters.int("id"), now: now()).json)
        }
        api.add(.POST, "/api/projects/{id}/raters/{username}/status", .reviewing) { request, caller in
            let projectID = try request.parameters.int("id")
            let username = try request.parameters.require("username")
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            guard let text = object["status"]?.stringValue, let decision = RaterStatus.Decision(rawValue: text) else {
                throw ValidationError("status: expected quarantined, cleared or ok")
            }
            guard let comment = object["comment"].map({ $0.stringValue }) ?? "" else { throw ValidationError("comment: expected a string") }
            try await projects.setRaterStatus(
                projectID: projectID, username: username, decision: decision, comment: comment, actor: caller.user.id,
                address: request.remoteAddress, now: now())
            return .json(["annotator": .string(username), "status": .string(decision.rawValue)])
        }
        // A rater's judgements, with the pair and the others' votes: ?departures=true, ?after=ID, ?limit=N (≤ 500).
        api.add(.GET, "/api/projects/{id}/raters/{username}/judgements", .reviewing) { request, _ in
            let query = request.queryItems
            let departures: Bool
            switch query["departures"] {
            case nil, "false": departures = false
            case "true": departures = true
            default: throw ValidationError("departures: true or false")
            }
            guard let after = Int64(query["after"] ?? "0"), after >= 0 else { throw ValidationError("after: a judgement id") }
            guard let limit = Int(query["limit"] ?? "100"), (1...500).contains(limit) else { throw ValidationError("limit: 1 to 500") }
            let items = try await projects.raterJudgements(
                projectID: try request.parameters.int("id"), username: try request.parameters.require("username"),
                departures: departures, after: after, limit: limit)
            return .json(["judgements": .array(items.map(\.json)), "next_after": items.count == limit ? .int(items.last!.id) : .null])
        }
        api.add(.GET, "/api/projects/{id}/raters", .reviewing) { request, _ in
            let id = try request.parameters.int("id")
            let report = try await AgreementService(store: store).raters(projectID: id)
            clinux_malloc_trim()  // the signals' working set (hundreds of MB at scale) goes back to the OS
            return .json(report.json)
        }
        api.add(.GET, "/api/projects/{id}/audit", .reviewing) { request, _ in
            let (report, labelled, names) = try await DatasetAuditService(store: store).project(projectID: try request.parameters.int("id"))
            return .json(report.json(labelled: labelled, names: names))
        }
        api.add(.POST, "/api/dataset-audits", .reviewing, maxBodyBytes: Self.maxAuditBytes) { request, _ in
            let query = request.queryItems
            if let unknown = query.keys.sorted().first(where: { $0 != "strict" }) {
                throw ValidationError("\(unknown): unknown option (strict)")
            }
            let strict: Bool
            switch query["strict"] {
            case nil, "false", "0": strict = false
            case "true", "1": strict = true
            default: throw ValidationError("strict: true or false")
            }
            let body = request.body
            // Five reward models are trained: seconds of work, never on an event loop.
            let report = try await Workers.heavy.run { try DatasetAuditService(store: store).file(body: body, strict: strict) }
            clinux_malloc_trim()
            return .json(report.json())
        }
        api.add(.GET, "/api/projects/{id}/leaderboard", .reviewing) { request, _ in
            let query = request.queryItems
            if let unknown = query.keys.sorted().first(where: { !["bootstrap", "seed", "style_control"].contains($0) }) {
                throw ValidationError("\(unknown): unknown option (bootstrap, seed, style_control)")
            }
            var bootstrap = 1000
            if let text = query["bootstrap"] {
                guard let value = Int(text), (0...LeaderboardService.maxServerBootstrap).contains(value) else {
                    throw ValidationError("bootstrap: a whole number from 0 to \(LeaderboardService.maxServerBootstrap)")
                }
                bootstrap = value
            }
            var seed: UInt64 = 42
            if let text = query["seed"] {
                guard let value = UInt64(text) else { throw ValidationError("seed: a whole number from 0") }
                seed = value
            }
            let styleControl: Bool
            switch query["style_control"] {
            case nil, "false", "0": styleControl = false
            case "true", "1": styleControl = true
            default: throw ValidationError("style_control: true or false")
            }
            let board = try await LeaderboardService(store: store).compute(
                projectID: try request.parameters.int("id"), bootstrap: bootstrap, seed: seed, styleControl: styleControl)
            return .json(board.json)
        }
        api.add(.GET, "/api/projects/{id}/agreement", .reviewing) { request, _ in
            let id = try request.parameters.int("id")
            let report = try await AgreementService(store: store).agreement(projectID: id)
            clinux_malloc_trim()
            return .json(report.json)
        }
        api.add(.GET, "/api/projects/{id}", .everyone) { request, caller in
            let id = try request.parameters.int("id")
            let project =
                caller.user.role == .annotator
                ? try await projects.find(id: id, annotator: caller.user.id)
                : try await projects.find(id: id)
            return .json(["project": Self.view(project, role: caller.user.role)])
        }
        // Annotators see the projects open to them that still want judgements.
        api.add(.GET, "/api/projects", .everyone) { _, caller in
            let list =
                caller.user.role == .annotator
                ? try await projects.list(annotator: caller.user.id, now: Clock.nowMilliseconds())
                : try await projects.list()
            return .json([
                "projects": .array(
                    list.map { summary in
                        Self.annotatorView(summary.json, project: summary.project, role: caller.user.role)
                    })
            ])
        }
        api.add(.GET, "/api/projects/{id}/members", .admin) { request, _ in
            let members = try await projects.members(projectID: try request.parameters.int("id"))
            return .json(Self.members(members))
        }
        api.add(.PUT, "/api/projects/{id}/members", .admin) { request, caller in
            let id = try request.parameters.int("id")
            guard let object = try await request.jsonBody().objectValue, object.keys.allSatisfy({ $0 == "usernames" }),
                let list = object["usernames"]?.arrayValue
            else {
                throw ValidationError("body: expected {\"usernames\": [names]} ([] opens the project to every annotator)")
            }
            let names = try list.map { value throws(ValidationError) -> String in
                guard let name = value.stringValue else { throw ValidationError("usernames: expected a list of names") }
                return name
            }
            let members = try await projects.setMembers(
                projectID: id, usernames: names, actor: caller.user.id,
                address: request.remoteAddress, now: now())
            return .json(Self.members(members))
        }
    }

    static func members(_ members: [(id: Int, username: String)]) -> JSONValue {
        ["open_to_everyone": .bool(members.isEmpty), "members": .array(members.map { .string($0.username) })]
    }
}
