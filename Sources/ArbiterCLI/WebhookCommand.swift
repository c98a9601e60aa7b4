import ArgumentParser
import Arbiter
import JSON
import Storage

/// `arbiter webhook add|list|remove`: the same service as the API and the admin page.
struct WebhookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook", abstract: "Manage webhook endpoints.", subcommands: [Add.self, List.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a webhook endpoint; prints its id and signing secret (shown once).",
            discussion: "Events: \(WebhookEventType.allCases.map(\.rawValue).joined(separator: ", ")), or * for all.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Where events are POSTed (http:// or https://).") var url: String
        @Option(help: "Comma-separated event types, or * for all.") var events: String
        @Option(help: "Only this project's events (name or id); default: every project.") var project: String?
        @Option(help: "A note to recognise the endpoint by.") var description = ""

        func run() throws {
            let names = events.split(separator: ",").map { String($0.filter { $0 != " " }) }
            let registration = WebhookService.Registration(url: url, events: names, project: project, description: description)
            let (webhook, secret) = try Commands.withDatabase(database) { db in
                try WebhookCommand.mapErrors {
                    try db.transaction { try WebhookService.create(db, registration, actor: nil, via: "cli", now: Clock.nowMilliseconds()) }
                }
            }
            Output.line("webhook \(webhook.id): \(webhook.url)")
            Output.line("secret: \(secret)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List webhook endpoints with their delivery counts (never the secrets).")

        @OptionGroup var database: DatabaseOptions
        @Flag(help: "One JSON document, as GET /api/webhooks.") var json = false

        func run() throws {
            let webhooks = try Commands.withDatabase(database) { db in try Webhooks.list(db) }
            if json {
                let document: JSONValue = ["webhooks": .array(webhooks.map(\.json))]
                Output.line(String(decoding: document.serialized(), as: UTF8.self))
                return
            }
            for webhook in webhooks {
                let events = webhook.events.map { $0.sorted().map(\.rawValue).joined(separator: ",") } ?? "*"
                Output.line(
                    "\(webhook.id)\t\(webhook.url)\t\(webhook.projectName ?? "every project")\t\(events)\t"
                        + "pending \(webhook.pending), delivered \(webhook.delivered), failed \(webhook.failed)")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a webhook endpoint and what it has not received.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The endpoint's id (see `webhook list`).") var id: Int64

        func run() throws {
            try Commands.withDatabase(database) { db in
                try WebhookCommand.mapErrors {
                    try db.transaction { try WebhookService.remove(db, id: id, actor: nil, via: "cli", now: Clock.nowMilliseconds()) }
                }
            }
            Output.line("removed webhook \(id)")
        }
    }

    /// A refused registration is one line on stderr.
    static func mapErrors<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as Arbiter.ValidationError {
            throw CLIError(message: error.message)
        } catch let error as ServiceError {
            throw CLIError(message: error.description)
        }
    }
}
