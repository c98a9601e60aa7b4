import JSON
import Storage

/// The events services write to the outbox, each in the transaction of the write
/// it reports (so a write that rolls back leaves no event). Every `data` object
/// names its project as `{"id","name"}`; the rest is per type (docs/API.md,
/// "Webhooks").
enum WebhookEvents {
    static func project(_ db: any Database, _ projectID: Int) throws -> JSONValue {
        ["id": .int(Int64(projectID)), "name": (try Projects.find(db, id: projectID)).map { .string($0.name) } ?? .null]
    }

    static func record(_ db: any Database, projectID: Int, type: WebhookEventType, now: Int64, _ data: () throws -> JSONObject) throws {
        // Nothing is built when no endpoint listens (the common case).
        guard try Webhooks.anyWants(db, projectID: projectID, type: type) else { return }
        let object = JSONObject([(key: "project", value: try project(db, projectID))] + (try data()).members)
        try Webhooks.record(
            db, projectID: projectID, type: type, payload: String(decoding: JSONValue.object(object).serialized(), as: UTF8.self), now: now)
    }

    /// `import.finished`: `kind` (`pairs` or `annotations`), `imported`, `duplicates`, `skipped` (bad lines left out), `via`.
    static func importFinished(_ db: any Database, projectID: Int, kind: String, report: ImportReport, via: String, now: Int64) throws {
        try record(db, projectID: projectID, type: .importFinished, now: now) {
            [
                "kind": .string(kind), "imported": .int(Int64(report.imported)), "duplicates": .int(Int64(report.duplicates)),
                "skipped": .int(Int64(report.errorCount)), "via": .string(via),
            ]
        }
    }

    /// `rater.quarantined`: `rater` (username), `comment`, `by` (username).
    static func raterQuarantined(_ db: any Database, projectID: Int, rater: String, comment: String, by actor: Int, now: Int64) throws {
        try record(db, projectID: projectID, type: .raterQuarantined, now: now) {
            [
                "rater": .string(rater), "comment": .string(comment),
                "by": (try Users.find(db, id: actor)).map { .string($0.username) } ?? .null,
            ]
        }
    }

    /// `export.ready`: `state` (`done` or `failed`), `error`, and where the files are.
    static func exportReady(_ db: any Database, projectID: Int, error: String?, now: Int64) throws {
        try record(db, projectID: projectID, type: .exportReady, now: now) {
            [
                "state": .string(error == nil ? "done" : "failed"), "error": error.map { .string($0) } ?? .null,
                "status_url": .string("/api/projects/\(projectID)/exports/latest"),
            ]
        }
    }
}
