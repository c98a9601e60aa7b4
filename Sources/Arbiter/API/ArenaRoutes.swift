import ModelEndpoints
import HTTPServer
import JSON
import Storage

/// Arena battles over HTTP: the page's state, a new battle and a follow-up (both
/// answered as a stream of server-sent events), the vote, a battle as its
/// annotator may see it; and, for admins, the server's model endpoints (never
/// their keys). Parse → ``ArenaService`` → render.
struct ArenaRoutes: Sendable {
    let service: ArenaService
    let models: ModelPool
    let generator: GenerateService

    func register(on api: inout APIRouter) {
        api.add(.GET, "/api/projects/{id}/arena", .annotating) { request, caller in
            let draw: Bool
            switch request.queryItems["draw"] {
            case nil, "false": draw = false
            case "true": draw = true
            default: throw ValidationError("draw: true or false")
            }
            return .json(
                try await service.status(
                    projectID: try request.parameters.int("id"), userID: caller.user.id,
                    membersOnly: caller.user.role == .annotator, draw: draw
                ).json)
        }
        api.add(.POST, "/api/projects/{id}/battles", .annotating) { request, caller in
            let prompt = try Self.prompt(try await request.jsonBody())
            let run = try await service.start(
                projectID: try request.parameters.int("id"), userID: caller.user.id,
                membersOnly: caller.user.role == .annotator, prompt: prompt)
            return stream(run)
        }
        api.add(.POST, "/api/battles/{id}/turns", .annotating) { request, caller in
            let prompt = try Self.prompt(try await request.jsonBody())
            let run = try await service.followUp(
                battleID: BattleID(Int64(try request.parameters.int("id"))), userID: caller.user.id, prompt: prompt)
            return stream(run)
        }
        api.add(.POST, "/api/battles/{id}/vote", .annotating) { request, caller in
            let body = try await request.jsonBody()
            guard let text = body["choice"]?.stringValue, let choice = Choice(rawValue: text) else {
                throw ValidationError("choice: A, B, tie or both_bad")
            }
            var duration: Int?
            if let value = body["duration_ms"] {
                guard let number = value.intValue, (0...86_400_000).contains(number) else {
                    throw ValidationError("duration_ms: 0 to 86400000")
                }
                duration = Int(number)
            }
            return .json(
                try await service.vote(
                    battleID: BattleID(Int64(try request.parameters.int("id"))), userID: caller.user.id, choice: choice,
                    durationMilliseconds: duration
                ).json)
        }
        api.add(.GET, "/api/battles/{id}", .annotating) { request, caller in
            .json(try await service.battle(id: BattleID(Int64(try request.parameters.int("id"))), userID: caller.user.id).annotatorJSON)
        }
        // Generation from the admin page: a batch of prompt lines (JSONL) answered by the named endpoints.
        api.add(.POST, "/api/projects/{id}/generate", .admin) { request, _ in
            let names = (request.queryItems["endpoints"] ?? "").split(separator: ",").map { String($0) }
            guard let firstLine = Int(request.queryItems["first_line"] ?? "1"), (1...GenerateService.maxFirstLine).contains(firstLine)
            else {
                throw ValidationError("first_line: a line number from 1 to \(GenerateService.maxFirstLine)")
            }
            let report = try await generator.run(
                projectID: try request.parameters.int("id"), endpointNames: names, body: request.body, firstLine: firstLine)
            return .json(report.json)
        }
        api.add(.GET, "/api/endpoints", .admin) { _, _ in
            let running = models.inFlight
            return .json([
                "endpoints": .array(
                    models.endpoints.map { endpoint in
                        [
                            "name": .string(endpoint.name), "model": .string(endpoint.model), "base_url": .string(endpoint.baseURL),
                            "has_key": .bool(endpoint.apiKey != nil), "concurrency": .int(Int64(endpoint.concurrency)),
                            "running": .int(Int64(running[endpoint.name] ?? 0)),
                            "temperature": endpoint.temperature.map { .double($0) } ?? .null,
                            "max_tokens": endpoint.maxTokens.map { .int(Int64($0)) } ?? .null,
                            "timeout_seconds": .double(endpoint.idleTimeout),
                        ]
                    }),
                "moderation": .bool(models.moderation != nil),
            ])
        }
    }

    static func prompt(_ body: JSONValue) throws(ValidationError) -> String {
        guard let prompt = body["prompt"]?.stringValue else { throw ValidationError("prompt: expected a string") }
        return prompt
    }

    /// The turn as server-sent events (`data: {json}` lines):
    /// `{"type":"start","battle","turn"}`, `{"type":"token","side":"a","text":…}` as
    /// pieces arrive, `{"type":"done","side","finish_reason","total_ms"}` or
    /// `{"type":"error","side","message"}` per side, then `{"type":"end",…}` once
    /// the turn is stored. Events that arrived together go out in one write.
    func stream(_ run: ArenaService.TurnRun) -> Response {
        let service = self.service
        return Response.stream(contentType: "text/event-stream", headers: ["Cache-Control": "no-store", "X-Accel-Buffering": "no"]) {
            writer in
            await service.run(run) { events in
                do {
                    try await writer.write(events.map { "data: " + Self.json($0).jsonText + "\n\n" }.joined())
                    return true
                } catch {
                    return false
                }
            }
        }
    }

    static func json(_ event: ArenaService.TurnEvent) -> JSONValue {
        switch event {
        case .start(let battle, let turn):
            return ["type": "start", "battle": battle.json, "turn": .int(Int64(turn))]
        case .token(let side, let text):
            return ["type": "token", "side": .string(side.rawValue), "text": .string(text)]
        case .done(let side, let finishReason, let total):
            return ["type": "done", "side": .string(side.rawValue), "finish_reason": JSONValue(finishReason), "total_ms": .double(total)]
        case .failed(let side, let message):
            return ["type": "error", "side": .string(side.rawValue), "message": .string(message)]
        case .end(let battle, let turn, let state, let turnsLeft, let message):
            var object: JSONObject = ["type": "end", "battle": battle.json, "turn": .int(Int64(turn)), "state": .string(state.rawValue)]
            if let turnsLeft { object["turns_left"] = .int(Int64(turnsLeft)) }
            if let message { object["message"] = .string(message) }
            return .object(object)
        }
    }
}

extension ArenaService.ArenaStatus {
    /// `{"project","prompts_per_hour","prompts_left","retry_after_ms","max_turns","pool","models","ready",
    /// "allow_ties","allow_both_bad","guidelines","drawn"?}`.
    var json: JSONValue {
        var object: JSONObject = [
            "project": ["id": .int(Int64(project.id)), "name": .string(project.name)],
            "prompts_per_hour": .int(Int64(arena.promptsPerHour)), "prompts_left": .int(Int64(promptsLeft)),
            "retry_after_ms": retryAfterMilliseconds.map { .int($0) } ?? .null,
            "max_turns": .int(Int64(arena.maxTurns)), "pool": .int(Int64(arena.promptPool.count)),
            "models": .int(Int64(modelsAvailable)), "ready": .bool(modelsAvailable >= 2),
            "allow_ties": .bool(project.settings.allowTies), "allow_both_bad": .bool(project.settings.allowBothBad),
            "guidelines": .string(project.settings.guidelines),
        ]
        if let drawn { object["drawn"] = .string(drawn) }
        return .object(object)
    }
}

extension ArenaService.Reveal {
    /// `{"battle","choice","model_a","model_b","pair"}`.
    var json: JSONValue {
        [
            "battle": battle.json, "choice": .string(choice.rawValue), "model_a": .string(modelA), "model_b": .string(modelB),
            "pair": .string(pair),
        ]
    }
}

extension Battle {
    /// A battle as its annotator sees it: the names only once voted.
    var annotatorJSON: JSONValue {
        var object: JSONObject = [
            "battle": id.json, "state": .string(state.rawValue),
            "turns": .array(
                turns.map { turn in
                    [
                        "prompt": .string(turn.prompt), "response_a": JSONValue(turn.responseA), "response_b": JSONValue(turn.responseB),
                        "state": .string(turn.state.rawValue),
                    ]
                }),
        ]
        if state == .voted {
            object["model_a"] = .string(modelA)
            object["model_b"] = .string(modelB)
        }
        return .object(object)
    }
}
