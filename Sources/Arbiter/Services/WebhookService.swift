import HTTPClient
public import Storage

/// Webhook endpoints: register (the secret is shown once), list, remove, look at
/// deliveries, send failed ones again — audited alike from the API and the
/// command line. Server admins only: an endpoint receives judgements and rater
/// names, so it is as sensitive as an export.
public struct WebhookService: Sendable {
    let store: ArbiterStore

    public init(store: ArbiterStore) { self.store = store }

    /// What registering an endpoint takes, validated once whatever the door.
    public struct Registration: Sendable {
        public var url: String
        /// Event names, or `["*"]` for all.
        public var events: [String]
        /// A project's id or name; nil for every project.
        public var project: String?
        public var description = ""

        public init(url: String, events: [String], project: String? = nil, description: String = "") {
            self.url = url
            self.events = events
            self.project = project
            self.description = description
        }
    }

    /// Longest URL and description.
    static let maxURL = 2048
    static let maxDescription = 200

    /// Registers an endpoint in the caller's transaction; returns it and its secret (shown once).
    public static func create(
        _ db: any Database, _ registration: Registration, actor: Int?, via: String, address: String = "", now: Int64
    ) throws -> (webhook: Webhook, secret: String) {
        guard registration.url.utf8.count <= maxURL else { throw ValidationError("url: at most \(maxURL) bytes") }
        do { try HTTPClient.check(url: registration.url) } catch { throw ValidationError("url: \(error)") }
        guard registration.description.count <= maxDescription else {
            throw ValidationError("description: at most \(maxDescription) characters")
        }
        let events = try WebhookEventType.parse(registration.events)
        var projectID: Int?
        if let name = registration.project {
            guard let project = try Int(name).flatMap({ try Projects.find(db, id: $0) }) ?? Projects.find(db, name: name) else {
                throw ServiceError.noSuchProject
            }
            projectID = project.id
        }
        let secret = WebhookSignature.newSecret()
        let id = try Webhooks.create(
            db, projectID: projectID, url: registration.url, secret: secret, events: events, description: registration.description,
            createdBy: actor, now: now)
        try AuditLog.record(
            db, actor: actor, action: "webhook_created", target: "webhook:\(id)",
            details: JSONObjectText(["url": registration.url, "events": Webhooks.eventsText(events), "via": via]), address: address,
            now: now)
        guard let webhook = try Webhooks.list(db, id: id).first else { throw ServiceError.notFound("no such webhook") }
        return (webhook, secret)
    }

    /// Registers an endpoint in a transaction of its own (the API's door).
    public func create(
        _ registration: Registration, actor: Int, address: String, now: Int64
    ) async throws -> (webhook: Webhook, secret: String) {
        try await store.pool.write { db in try Self.create(db, registration, actor: actor, via: "api", address: address, now: now) }
    }

    /// Every endpoint with its delivery counts.
    public func list() async throws -> [Webhook] {
        try await store.pool.read { db in try Webhooks.list(db) }
    }

    /// Removes an endpoint and what it had not received yet; audited.
    public static func remove(_ db: any Database, id: Int64, actor: Int?, via: String, address: String = "", now: Int64) throws {
        guard try Webhooks.delete(db, id: id) else { throw ServiceError.notFound("no such webhook") }
        try AuditLog.record(
            db, actor: actor, action: "webhook_removed", target: "webhook:\(id)", details: JSONObjectText(["via": via]), address: address,
            now: now)
    }

    public func remove(id: Int64, actor: Int, address: String, now: Int64) async throws {
        try await store.pool.write { db in try Self.remove(db, id: id, actor: actor, via: "api", address: address, now: now) }
    }

    /// An endpoint's deliveries, newest first: all, or those in `state` (`pending`, `delivered`, `failed`).
    public func deliveries(id: Int64, state: String?, limit: Int) async throws -> [WebhookDelivery] {
        if let state, !["pending", "delivered", "failed"].contains(state) {
            throw ValidationError("state: expected pending, delivered or failed")
        }
        guard (1...1000).contains(limit) else { throw ValidationError("limit: expected 1 to 1000") }
        return try await store.pool.read { db in
            guard try !Webhooks.list(db, id: id).isEmpty else { throw ServiceError.notFound("no such webhook") }
            return try Webhooks.deliveries(db, webhookID: id, state: state, limit: limit)
        }
    }

    /// Sends an endpoint's failed deliveries again (a fresh retry window); returns how many; audited.
    public func retryFailed(id: Int64, actor: Int, address: String, now: Int64) async throws -> Int {
        try await store.pool.write { db in
            guard try !Webhooks.list(db, id: id).isEmpty else { throw ServiceError.notFound("no such webhook") }
            let count = try Webhooks.retryFailed(db, webhookID: id, now: now)
            try AuditLog.record(
                db, actor: actor, action: "webhook_retried", target: "webhook:\(id)", details: JSONObjectText(["deliveries": "\(count)"]),
                address: address, now: now)
            return count
        }
    }
}
