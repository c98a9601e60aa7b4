public import Storage

/// An endpoint as admins see it: never its secret.
public struct Webhook: Sendable, Equatable {
    public var id: Int64
    /// nil: every project's events.
    public var projectID: Int?
    public var projectName: String?
    public var url: String
    /// nil: every event type.
    public var events: Set<WebhookEventType>?
    public var description: String
    public var createdAt: Int64
    /// Deliveries waiting (or retrying), delivered and given up on.
    public var pending = 0
    public var delivered = 0
    public var failed = 0
}

/// One event's delivery to one endpoint, with the last attempt's outcome.
public struct WebhookDelivery: Sendable, Equatable {
    public var eventID: Int64
    public var type: String
    public var state: String
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var lastAttemptAt: Int64?
    public var lastStatus: Int?
    public var lastResponse: String?
    public var createdAt: Int64
}

/// A delivery whose turn has come: the head of its endpoint's queue.
public struct DueDelivery: Sendable {
    public var webhookID: Int64
    public var eventID: Int64
    public var url: String
    public var secret: String
    public var type: String
    public var payload: String
    public var createdAt: Int64
    public var attempts: Int
    /// When the retry window began (the event, or an admin's "send again").
    public var startedAt: Int64
}

/// A judgement waiting in the queue, with what its event says.
public struct QueuedJudgement: Sendable {
    public var annotationID: Int64
    public var projectID: Int
    public var pairID: Int64
    public var pair: String
    public var annotator: String
    public var choice: String
    public var strength: Int?
    public var kind: String
    public var createdAt: String
}

/// `webhooks`, `webhook_events`, `webhook_deliveries`, `webhook_judgements` and
/// `webhook_marks` (migration 0022): endpoints, the outbox and its deliveries.
public enum Webhooks {
    /// Matches the endpoints that want an event of type `?` (a `% type %` pattern)
    /// in project `?`.
    static let wants = """
        (w.project_id IS NULL OR w.project_id = CAST(? AS BIGINT)) AND (w.events = '*' OR (' ' || w.events || ' ') LIKE CAST(? AS TEXT))
        """
    static func wantsValues(projectID: Int, type: WebhookEventType) -> [SQLValue] {
        [.int(Int64(projectID)), .text("% \(type.rawValue) %")]
    }

    static func eventsText(_ events: Set<WebhookEventType>?) -> String {
        events.map { $0.sorted().map(\.rawValue).joined(separator: " ") } ?? "*"
    }

    /// Registers an endpoint; returns its id.
    public static func create(
        _ db: any Database, projectID: Int?, url: String, secret: String, events: Set<WebhookEventType>?, description: String,
        createdBy: Int?, now: Int64
    ) throws -> Int64 {
        try db.insert(
            "INSERT INTO webhooks (project_id, url, secret, events, description, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                projectID.map { .int(Int64($0)) } ?? .null, .text(url), .text(secret), .text(eventsText(events)), .text(description),
                createdBy.map { .int(Int64($0)) } ?? .null, .int(now),
            ])
    }

    /// Every endpoint with its delivery counts, oldest first.
    public static func list(_ db: any Database, id: Int64? = nil) throws -> [Webhook] {
        try db.query(
            """
            SELECT w.id, w.project_id, p.name, w.url, w.events, w.description, w.created_at,
                   (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'pending'),
                   (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'delivered'),
                   (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'failed')
            FROM webhooks w LEFT JOIN projects p ON p.id = w.project_id
            \(id == nil ? "" : "WHERE w.id = ?") ORDER BY w.id
            """, id.map { [.int($0)] } ?? []
        ) { row in
            let events = row.string(4)
            return Webhook(
                id: row.int64(0), projectID: row.optionalInt(1), projectName: row.optionalString(2), url: row.string(3),
                events: events == "*" ? nil : Set(events.split(separator: " ").compactMap { WebhookEventType(rawValue: String($0)) }),
                description: row.string(5), createdAt: row.int64(6), pending: row.int(7), delivered: row.int(8), failed: row.int(9))
        }
    }

    /// Removes an endpoint and its deliveries; false if there was none.
    public static func delete(_ db: any Database, id: Int64) throws -> Bool {
        try db.run("DELETE FROM webhooks WHERE id = ?", [.int(id)]) > 0
    }

    /// An endpoint's deliveries, newest first, optionally in one state.
    public static func deliveries(_ db: any Database, webhookID: Int64, state: String?, limit: Int) throws -> [WebhookDelivery] {
        try db.query(
            """
            SELECT d.event_id, e.type, d.state, d.attempts, d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_response, e.created_at
            FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
            WHERE d.webhook_id = ? \(state == nil ? "" : "AND d.state = ?") ORDER BY d.event_id DESC LIMIT ?
            """, [.int(webhookID)] + (state.map { [.text($0)] } ?? []) + [.int(Int64(limit))]
        ) { row in
            WebhookDelivery(
                eventID: row.int64(0), type: row.string(1), state: row.string(2), attempts: row.int(3), nextAttemptAt: row.int64(4),
                lastAttemptAt: row.isNull(5) ? nil : row.int64(5), lastStatus: row.optionalInt(6), lastResponse: row.optionalString(7),
                createdAt: row.int64(8))
        }
    }

    /// True if some endpoint wants events of `type` from the project.
    public static func anyWants(_ db: any Database, projectID: Int, type: WebhookEventType) throws -> Bool {
        try db.queryFirst("SELECT 1 FROM webhooks w WHERE \(wants) LIMIT 1", wantsValues(projectID: projectID, type: type)) { _ in true }
            ?? false
    }

    /// Writes an event to the outbox with a delivery for every endpoint that wants
    /// it, in the caller's transaction; nil (and nothing written) when none does.
    @discardableResult
    public static func record(_ db: any Database, projectID: Int, type: WebhookEventType, payload: String, now: Int64) throws -> Int64? {
        guard
            let eventID = try db.queryFirst(
                """
                INSERT INTO webhook_events (project_id, type, payload, created_at)
                SELECT CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT)
                WHERE EXISTS (SELECT 1 FROM webhooks w WHERE \(wants))
                RETURNING id
                """,
                [.int(Int64(projectID)), .text(type.rawValue), .text(payload), .int(now)] + wantsValues(projectID: projectID, type: type),
                { $0.int64(0) })
        else { return nil }
        try db.run(
            """
            INSERT INTO webhook_deliveries (webhook_id, event_id, state, attempts, started_at, next_attempt_at)
            SELECT w.id, CAST(? AS BIGINT), 'pending', 0, CAST(? AS BIGINT), CAST(? AS BIGINT) FROM webhooks w WHERE \(wants)
            """, [.int(eventID), .int(now), .int(now)] + wantsValues(projectID: projectID, type: type))
        return eventID
    }

    // MARK: The queue of new judgements

    /// The oldest queued judgements with what their events say.
    public static func queuedJudgements(_ db: any Database, limit: Int) throws -> [QueuedJudgement] {
        try db.query(
            """
            SELECT q.annotation_id, q.project_id, n.pair_id, p.external_id, u.username, n.choice, n.strength, n.kind, n.created_at
            FROM webhook_judgements q
            JOIN annotations n ON n.id = q.annotation_id JOIN pairs p ON p.id = n.pair_id JOIN users u ON u.id = n.user_id
            ORDER BY q.annotation_id LIMIT ?
            """, [.int(Int64(limit))]
        ) { row in
            QueuedJudgement(
                annotationID: row.int64(0), projectID: row.int(1), pairID: row.int64(2), pair: row.string(3), annotator: row.string(4),
                choice: row.string(5), strength: row.optionalInt(6), kind: row.string(7), createdAt: row.string(8))
        }
    }

    /// Takes judgements up to `annotationID` (inclusive) out of the queue.
    public static func dequeue(_ db: any Database, through annotationID: Int64) throws {
        try db.run("DELETE FROM webhook_judgements WHERE annotation_id <= ?", [.int(annotationID)])
    }

    /// Of `pairIDs`, those that now have every judgement their project wants (gold pairs never complete).
    public static func completedPairs(_ db: any Database, pairIDs: [Int64]) throws -> [(id: Int64, externalID: String, judgements: Int)] {
        guard !pairIDs.isEmpty else { return [] }
        return try db.query(
            """
            SELECT id, external_id, judgements FROM visible_pairs
            WHERE id IN (\(pairIDs.map { String($0) }.joined(separator: ","))) AND gold IS NULL AND judgements >= wanted
            ORDER BY id
            """
        ) { row in (row.int64(0), row.string(1), row.int(2)) }
    }

    /// Marks pairs completed; returns those that were not already (in the order given).
    public static func markCompleted(
        _ db: any Database, projectID: Int, pairs: [(id: Int64, externalID: String, judgements: Int)]
    ) throws -> [(id: Int64, externalID: String, judgements: Int)] {
        guard !pairs.isEmpty else { return [] }
        let rows = Array(repeating: "(CAST(? AS BIGINT), CAST(? AS TEXT), 'done')", count: pairs.count).joined(separator: ", ")
        let marked = Set(
            try db.query(
                "INSERT INTO webhook_marks (project_id, subject, value) VALUES \(rows) ON CONFLICT (project_id, subject) DO NOTHING RETURNING subject",
                pairs.flatMap { [SQLValue.int(Int64(projectID)), .text("pair:\($0.id)")] }
            ) { $0.string(0) })
        return pairs.filter { marked.contains("pair:\($0.id)") }
    }

    /// Whether any pair (not gold) of the project still wants judgements.
    public static func hasOpenPairs(_ db: any Database, projectID: Int) throws -> Bool {
        try db.queryFirst(
            "SELECT 1 FROM visible_pairs WHERE project_id = ? AND gold IS NULL AND judgements < wanted LIMIT 1", [.int(Int64(projectID))]
        ) { _ in true } ?? false
    }

    /// The project's pairs (not gold).
    public static func pairCount(_ db: any Database, projectID: Int) throws -> Int {
        try db.queryFirst("SELECT count(*) FROM visible_pairs WHERE project_id = ? AND gold IS NULL", [.int(Int64(projectID))]) {
            $0.int(0)
        } ?? 0
    }

    /// Sets a mark; true if it is new or its value changed (the event is due).
    public static func mark(_ db: any Database, projectID: Int, subject: String, value: String) throws -> Bool {
        try db.queryFirst(
            """
            INSERT INTO webhook_marks (project_id, subject, value) VALUES (?, ?, ?)
            ON CONFLICT (project_id, subject) DO UPDATE SET value = excluded.value WHERE webhook_marks.value <> excluded.value
            RETURNING subject
            """, [.int(Int64(projectID)), .text(subject), .text(value)]
        ) { _ in true } ?? false
    }

    /// Forgets a mark (a rater no longer flagged can be flagged again).
    public static func unmark(_ db: any Database, projectID: Int, subject: String) throws {
        try db.run("DELETE FROM webhook_marks WHERE project_id = ? AND subject = ?", [.int(Int64(projectID)), .text(subject)])
    }

    /// The project's marks whose subject starts with `prefix`.
    public static func marks(_ db: any Database, projectID: Int, prefix: String) throws -> [String: String] {
        var result: [String: String] = [:]
        _ = try db.query(
            "SELECT subject, value FROM webhook_marks WHERE project_id = ? AND substr(subject, 1, ?) = ?",
            [.int(Int64(projectID)), .int(Int64(prefix.count)), .text(prefix)]
        ) { row in result[row.string(0)] = row.string(1) }
        return result
    }

    // MARK: Delivery

    /// For each endpoint whose oldest pending delivery's time has come, its
    /// oldest `perEndpoint` pending deliveries, in event order.
    public static func due(_ db: any Database, now: Int64, perEndpoint: Int) throws -> [DueDelivery] {
        try db.query(
            """
            WITH ready AS (
                SELECT h.webhook_id FROM webhook_deliveries h
                WHERE h.state = 'pending' AND h.next_attempt_at <= ?
                  AND h.event_id = (SELECT min(x.event_id) FROM webhook_deliveries x WHERE x.webhook_id = h.webhook_id AND x.state = 'pending')
            ),
            queued AS (
                SELECT d.webhook_id, d.event_id, d.attempts, d.started_at,
                       row_number() OVER (PARTITION BY d.webhook_id ORDER BY d.event_id) AS place
                FROM webhook_deliveries d WHERE d.state = 'pending' AND d.webhook_id IN (SELECT webhook_id FROM ready)
            )
            SELECT q.webhook_id, q.event_id, w.url, w.secret, e.type, e.payload, e.created_at, q.attempts, q.started_at
            FROM queued q JOIN webhooks w ON w.id = q.webhook_id JOIN webhook_events e ON e.id = q.event_id
            WHERE q.place <= ? ORDER BY q.webhook_id, q.event_id
            """, [.int(now), .int(Int64(perEndpoint))]
        ) { row in
            DueDelivery(
                webhookID: row.int64(0), eventID: row.int64(1), url: row.string(2), secret: row.string(3), type: row.string(4),
                payload: row.string(5), createdAt: row.int64(6), attempts: row.int(7), startedAt: row.int64(8))
        }
    }

    /// Records an attempt: delivered, pending again at `retryAt`, or failed (given up) when `retryAt` is nil.
    public static func attempted(
        _ db: any Database, webhookID: Int64, eventID: Int64, delivered: Bool, status: Int?, response: String, retryAt: Int64?, now: Int64
    ) throws {
        let state = delivered ? "delivered" : retryAt == nil ? "failed" : "pending"
        try db.run(
            """
            UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, last_attempt_at = ?, last_status = ?, last_response = ?,
                next_attempt_at = ?
            WHERE webhook_id = ? AND event_id = ? AND state = 'pending'
            """,
            [
                .text(state), .int(now), status.map { .int(Int64($0)) } ?? .null, .text(response), .int(retryAt ?? now),
                .int(webhookID), .int(eventID),
            ])
    }

    /// Sends an endpoint's failed deliveries again; returns how many.
    public static func retryFailed(_ db: any Database, webhookID: Int64, now: Int64) throws -> Int {
        try db.run(
            "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, started_at = ?, next_attempt_at = ? WHERE webhook_id = ? AND state = 'failed'",
            [.int(now), .int(now), .int(webhookID)])
    }
}

extension Webhooks {
    /// True if any endpoint is registered (the dispatcher's first, cheap question).
    public static func exist(_ db: any Database) throws -> Bool {
        try db.queryFirst("SELECT 1 FROM webhooks LIMIT 1") { _ in true } ?? false
    }
}
