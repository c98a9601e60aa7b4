import HTTPServer
public import JSON
import Storage

/// Webhook endpoints (server admins): register, list, remove, deliveries, send
/// failed ones again — ``WebhookService`` does the work.
struct WebhookRoutes: Sendable {
    let service: WebhookService
    let now: @Sendable () -> Int64
    /// Told when an endpoint is registered (the sender starts looking at once).
    var registered: @Sendable () -> Void = {}

    func register(on api: inout APIRouter) {
        api.add(.GET, "/api/webhooks", .admin) { _, _ in
            .json([
                "webhooks": .array(try await service.list().map(\.json)),
                "events": .array(WebhookEventType.allCases.map { .string($0.rawValue) }),
            ])
        }
        api.add(.POST, "/api/webhooks", .admin) { request, caller in
            let registration = try Self.registration(try await request.jsonBody())
            let (webhook, secret) = try await service.create(
                registration, actor: caller.user.id, address: request.remoteAddress, now: now())
            registered()
            guard case .object(var object) = webhook.json else { return .json(webhook.json, status: .created) }
            object["secret"] = .string(secret)
            return .json(["webhook": .object(object)], status: .created)
        }
        api.add(.DELETE, "/api/webhooks/{id}", .admin) { request, caller in
            let id = Int64(try request.parameters.int("id"))
            try await service.remove(id: id, actor: caller.user.id, address: request.remoteAddress, now: now())
            return .json(["removed": .int(id)])
        }
        api.add(.GET, "/api/webhooks/{id}/deliveries", .admin) { request, _ in
            let id = Int64(try request.parameters.int("id"))
            let query = request.queryItems
            if let unknown = query.keys.sorted().first(where: { $0 != "state" && $0 != "limit" }) {
                throw ValidationError("\(unknown): unknown parameter (expected state, limit)")
            }
            guard let limit = Int(query["limit"] ?? "50") else { throw ValidationError("limit: expected 1 to 1000") }
            let deliveries = try await service.deliveries(id: id, state: query["state"], limit: limit)
            return .json(["deliveries": .array(deliveries.map(\.json))])
        }
        api.add(.POST, "/api/webhooks/{id}/retry", .admin) { request, caller in
            let id = Int64(try request.parameters.int("id"))
            let count = try await service.retryFailed(id: id, actor: caller.user.id, address: request.remoteAddress, now: now())
            return .json(["retried": .int(Int64(count))])
        }
    }

    /// `{"url","events":[…]|"*","project"?,"description"?}`.
    static func registration(_ body: JSONValue) throws -> WebhookService.Registration {
        guard let object = body.objectValue else { throw ValidationError("body: expected a JSON object") }
        let known = ["url", "events", "project", "description"]
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw ValidationError("\(unknown): unknown field (expected \(known.joined(separator: ", ")))")
        }
        guard let url = object["url"]?.stringValue else { throw ValidationError("url: expected a string") }
        let events: [String]
        switch object["events"] {
        case .string("*")?: events = ["*"]
        case .array(let items)?:
            events = try items.map { item in
                guard let name = item.stringValue else { throw ValidationError("events: expected a list of event names") }
                return name
            }
        default: throw ValidationError("events: expected a list of event names, or \"*\" for all")
        }
        var project: String?
        switch object["project"] {
        case nil, .null?: project = nil
        case .string(let name)?: project = name
        case .int(let id)?: project = String(id)
        default: throw ValidationError("project: expected a project id or name")
        }
        guard let description = object["description"].map({ $0.stringValue }) ?? "" else {
            throw ValidationError("description: expected a string")
        }
        return WebhookService.Registration(url: url, events: events, project: project, description: description)
    }
}

extension Webhook {
    /// An endpoint as admins see it: never its secret.
    public var json: JSONValue {
        [
            "id": .int(id), "url": .string(url),
            "events": events.map { .array($0.sorted().map { .string($0.rawValue) }) } ?? .string("*"),
            "project": projectID.map { ["id": .int(Int64($0)), "name": projectName.map { .string($0) } ?? .null] } ?? .null,
            "description": .string(description), "created_at": .string(Clock.iso8601(milliseconds: createdAt)),
            "deliveries": ["pending": .int(Int64(pending)), "delivered": .int(Int64(delivered)), "failed": .int(Int64(failed))],
        ]
    }
}

extension WebhookDelivery {
    var json: JSONValue {
        [
            "event_id": .string("evt_\(eventID)"), "type": .string(type), "state": .string(state), "attempts": .int(Int64(attempts)),
            "created_at": .string(Clock.iso8601(milliseconds: createdAt)),
            "next_attempt_at": state == "pending" ? .string(Clock.iso8601(milliseconds: nextAttemptAt)) : .null,
            "last_attempt_at": lastAttemptAt.map { .string(Clock.iso8601(milliseconds: $0)) } ?? .null,
            "last_status": lastStatus.map { .int(Int64($0)) } ?? .null, "last_response": lastResponse.map { .string($0) } ?? .null,
        ]
    }
}
