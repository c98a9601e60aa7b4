import HTTPServer
import JSON

/// `GET /api/openapi.json`: an OpenAPI 3.1 description of every API route, built
/// from the route table (so a route cannot be served undocumented: a test checks
/// that every route has its entry here and that the document lists exactly the
/// routes the router serves).
enum OpenAPI {
    /// How a route takes its input.
    enum Body { case none, json, jsonl }

    struct Details {
        var summary: String
        var body: Body = .none
        var query: [(name: String, type: String, description: String)] = []
        /// Content types of a successful answer (none: a JSON object).
        var produces: [String] = []
        /// Answers 204 (or 201) with no body in some cases.
        var bodiless: [String] = []
    }

    static let details: [String: Details] = [
        "POST /api/login": Details(summary: "Sign in with a username and password; sets the session cookie", body: .json),
        "POST /api/logout": Details(summary: "End the session", bodiless: ["204"]),
        "GET /api/me": Details(summary: "The signed-in user and the CSRF token"),
        "GET /api/users": Details(summary: "People: role, status, judgements, last seen"),
        "PATCH /api/users/{id}": Details(summary: "Change a person's role or disable them", body: .json),
        "POST /api/invites": Details(summary: "Create an invite link (shown once)", body: .json),
        "GET /api/invites": Details(summary: "Invites and their state"),
        "DELETE /api/invites/{id}": Details(summary: "Revoke an open invite", bodiless: ["204"]),
        "POST /api/invites/check": Details(summary: "Whether an invite link can still be used", body: .json),
        "POST /api/invites/accept": Details(summary: "Create an account from an invite", body: .json),
        "POST /api/users/{id}/password-reset": Details(
            summary: "Issue a one-time password-reset link for a person (shown once)", body: .json),
        "POST /api/password-resets/accept": Details(
            summary: "Set a new password from a reset link; signs in and ends other sessions", body: .json),
        "GET /api/audit": Details(
            summary: "The audit log, newest first",
            query: [("limit", "integer", "Most entries (default 200)"), ("before", "integer", "Entries older than this id")]),
        "GET /api/tokens": Details(summary: "API tokens (never the tokens themselves)"),
        "POST /api/tokens": Details(summary: "Create an API token for a user (shown once)", body: .json),
        "DELETE /api/tokens/{id}": Details(summary: "Revoke an API token"),
        "POST /api/projects/{id}/studies": Details(summary: "Make a study link for recruited participants", body: .json),
        "GET /api/projects/{id}/studies": Details(summary: "A project's studies with their links and places taken"),
        "POST /api/studies/{id}/close": Details(summary: "Close a study to new participants", bodiless: ["204"]),
        "GET /api/studies/{id}/participants": Details(
            summary: "A study's participants: platform id, state, review, judgements, times",
            query: [("format", "string", "json (default) or csv")], produces: ["application/json", "text/csv"]),
        "POST /api/studies/{id}/participants/{participant}/review": Details(
            summary: "Approve or reject a participant's work (rejected: quarantined)", body: .json),
        "POST /api/studies/join": Details(
            summary: "A participant joins (or resumes) a study from its link; sets a session for it only", body: .json),
        "GET /api/study": Details(summary: "A study participant's progress, and the completion code once done"),
        "GET /api/auth-methods": Details(summary: "How people sign in here: {\"password\": bool, \"single_sign_on\": bool}"),
        "GET /api/webhooks": Details(summary: "Webhook endpoints with their delivery counts (never their secrets), and the event types"),
        "POST /api/webhooks": Details(summary: "Register a webhook endpoint (its signing secret is shown once)", body: .json),
        "DELETE /api/webhooks/{id}": Details(summary: "Remove a webhook endpoint and what it has not received"),
        "GET /api/webhooks/{id}/deliveries": Details(
            summary: "An endpoint's deliveries, newest first, with the last answer",
            query: [("state", "string", "pending, delivered or failed"), ("limit", "integer", "1 to 1000 (default 50)")]),
        "POST /api/webhooks/{id}/retry": Details(summary: "Send an endpoint's failed deliveries again"),
        "GET /api/projects/{id}/judges": Details(
            summary:
                "The project's model judges: state, cost, and the judge–human table (agreement with people and gold, position, consistency)"
        ),
        "POST /api/projects/{id}/judges": Details(summary: "Add a model judge (an endpoint and a judging prompt)", body: .json),
        "DELETE /api/projects/{id}/judges/{name}": Details(summary: "Remove a judge and its verdicts"),
        "POST /api/projects/{id}/judges/{name}/run": Details(
            summary: "Start a judge's run over the pairs it has not judged (in the background)"),
        "GET /api/projects/{id}/judges/{name}/verdicts": Details(
            summary: "A judge's verdicts: both answers, the verdict, the rationale",
            query: [("after", "integer", "The `next_after` of the previous page"), ("limit", "integer", "1 to 500 (default 100)")]),
        "GET /api/projects": Details(summary: "Projects the caller may see"),
        "POST /api/projects": Details(summary: "Create a project", body: .json),
        "GET /api/projects/{id}": Details(summary: "A project and its settings"),
        "PATCH /api/projects/{id}": Details(summary: "Rename a project or change its settings", body: .json),
        "GET /api/projects/{id}/dashboard": Details(summary: "Pairs by state, judgements per day and per annotator, leases, agreement"),
        "GET /api/projects/{id}/next": Details(summary: "Lease the next pair to judge", bodiless: ["204"]),
        "GET /api/export-formats": Details(summary: "The export formats: name, label, file extension, whether pairwise"),
        "GET /api/projects/{id}/reports": Details(
            summary: "Problems annotators reported, with each pair's texts (open ones unless state=all)",
            query: [("state", "string", "open (default) or all")]),
        "POST /api/reports/{id}/resolve": Details(summary: "Mark a report resolved", bodiless: ["204"]),
        "POST /api/assignments/{id}/annotation": Details(summary: "Submit a judgement (idempotent per assignment)", body: .json),
        "PUT /api/assignments/{id}/annotation": Details(
            summary: "Change your judgement while the lease lasts; the old one is kept in history", body: .json),
        "POST /api/assignments/{id}/skip": Details(summary: "Skip a leased pair", bodiless: ["204"]),
        "POST /api/assignments/{id}/report": Details(summary: "Report a problem with a pair", body: .json, bodiless: ["201"]),
        "GET /api/projects/{id}/progress": Details(summary: "The caller's progress in a project"),
        "POST /api/projects/{id}/pairs": Details(
            summary: "Import pairs (JSONL)", body: .jsonl,
            query: [
                ("dry_run", "boolean", "Check, write nothing"), ("skip_invalid", "boolean", "Import good lines, report bad ones"),
                ("pairs_per_prompt", "integer", "Multi-response lines: pairs per prompt"),
            ]),
        "POST /api/projects/{id}/annotations": Details(
            summary: "Import annotations (JSONL)", body: .jsonl,
            query: [("dry_run", "boolean", "Check, write nothing"), ("skip_invalid", "boolean", "Import good lines, report bad ones")]),
        "GET /api/projects/{id}/pairs": Details(
            summary: "The item browser: the project's pairs searched, filtered and sorted, in keyset pages",
            query: [
                ("q", "string", "Words that must all occur in the pair's id, texts, model names or metadata"),
                ("state", "string", "unjudged, in_progress or complete"), ("min_judgements", "integer", "At least this many judgements"),
                ("max_judgements", "integer", "At most this many judgements"),
                ("min_disagreement", "number", "Entropy of the votes in bits, at least (0 to 2)"),
                ("reported", "boolean", "With (true) or without (false) open reports"), ("gold", "boolean", "Gold pairs only, or none"),
                ("labelled", "boolean", "With or without a final label"),
                ("raters", "string", "Judged by any of these raters (comma-separated)"),
                ("sort", "string", "id, -id, disagreement, -disagreement, judgements or -judgements"),
                ("after", "string", "The `next` of the previous page"), ("limit", "integer", "Pairs per page, 1 to 200 (default 50)"),
            ]),
        "GET /api/projects/{id}/pairs/{pair}/decision": Details(
            summary: "What a default export writes for the pair, and which judgements it leaves out"),
        "GET /api/projects/{id}/pairs/{pair}": Details(
            summary: "One pair with every judgement and its rater, its reports and its final label"),
        "PUT /api/projects/{id}/pairs/{pair}/label": Details(
            summary: "Set a pair's final label (recorded apart from judgements)", body: .json),
        "DELETE /api/projects/{id}/pairs/{pair}/label": Details(summary: "Remove a pair's final label", bodiless: ["204"]),
        "GET /api/projects/{id}/agreement": Details(summary: "Krippendorff's alpha, Fleiss' and Cohen's kappa, contested pairs"),
        "GET /api/projects/{id}/raters": Details(summary: "Per-rater quality signals and reasons"),
        "GET /api/projects/{id}/audit": Details(summary: "Imported labels ranked by how poisoned they look"),
        "POST /api/dataset-audits": Details(
            summary: "Audit an uploaded preference file (TRL, HH-RLHF or OpenAI JSONL) as `arbiter audit --input` does",
            body: .jsonl, query: [("strict", "boolean", "Refuse the file at its first unreadable line")]),
        "POST /api/projects/{id}/raters/{username}/status": Details(summary: "Quarantine or clear a rater", body: .json),
        "GET /api/projects/{id}/raters/{username}/judgements": Details(
            summary: "A rater's judgements with each pair and the other raters' votes",
            query: [
                ("departures", "boolean", "Only judgements against the other raters' consensus"),
                ("after", "integer", "Judgement id to continue after"),
                ("limit", "integer", "1 to 500 (default 100)"),
            ]),
        "GET /api/projects/{id}/leaderboard": Details(
            summary: "Models ranked by a Bradley–Terry fit over the project's votes",
            query: [
                ("bootstrap", "integer", "Resamples for the 95% intervals, 0 to 2000 (default 1000)"),
                ("seed", "integer", "Bootstrap seed (default 42)"),
                ("style_control", "boolean", "Control for response length"),
            ]),
        "GET /api/projects/{id}/arena": Details(
            summary: "An arena project's state for the caller: prompts left this hour, turns per battle",
            query: [
                ("draw", "boolean", "Also draw a prompt from the project's pool")
            ]),
        "POST /api/projects/{id}/battles": Details(
            summary: "Start a battle: two hidden models answer the prompt, streamed as server-sent events", body: .json,
            produces: ["text/event-stream"]),
        "POST /api/battles/{id}/turns": Details(
            summary: "A follow-up prompt in an open battle, streamed as server-sent events", body: .json,
            produces: ["text/event-stream"]),
        "POST /api/battles/{id}/vote": Details(
            summary: "Vote (A, B, tie, both_bad): stored as a pair and a judgement; reveals the models", body: .json),
        "GET /api/battles/{id}": Details(summary: "One of the caller's battles (the models named once voted)"),
        "POST /api/projects/{id}/generate": Details(
            summary: "Generate responses from the server's endpoints for up to 50 prompt lines (JSONL)", body: .jsonl,
            query: [
                ("endpoints", "string", "Comma-separated endpoint names (at least two)"),
                ("first_line", "integer", "The file line of the first line sent (for messages)"),
            ]),
        "GET /api/endpoints": Details(summary: "The server's model endpoints (never their keys)"),
        "GET /api/projects/{id}/members": Details(summary: "Which annotators the project is for (none listed: everyone)"),
        "PUT /api/projects/{id}/members": Details(summary: "Set which annotators the project is for", body: .json),
        "GET /api/projects/{id}/export": Details(
            summary: "Stream an export",
            query: [
                ("format", "string", "trl, openai, hh-rlhf, sft, raw, csv, helpsteer or rewrite-sft"),
                ("aggregate", "string", "weighted or majority"),
                ("min_agreement", "number", "0 to 1"), ("include_flagged", "boolean", "Keep flagged raters"),
                ("margin", "boolean", "TRL margin column"),
                ("ranking_pairs", "string", "Ranking projects: all or adjacent"),
                ("min_gap", "number", "Rating projects: smallest score gap for a pair"),
                ("rewrite_pairs", "boolean", "Add rewritten > original pairs"),
            ], produces: ["application/x-ndjson", "text/csv"]),
        "POST /api/projects/{id}/exports": Details(summary: "Start an export job (and train a reward model)", body: .json),
        "GET /api/projects/{id}/exports/latest": Details(summary: "The export job's progress and latest result"),
        "GET /api/projects/{id}/exports/latest/files/{name}": Details(
            summary: "Download a file of the latest export",
            produces: ["application/octet-stream", "application/json", "application/x-ndjson", "text/csv"]),
        "POST /api/projects/{id}/reward/score": Details(summary: "Score responses with the project's reward model", body: .json),
        "GET /readyz": Details(summary: "Ready: the database answers"),
        "GET /api/openapi.json": Details(summary: "This document"),
        "GET /metrics": Details(summary: "Prometheus metrics", produces: ["text/plain"]),
    ]

    static let errorSchema: JSONValue = [
        "type": "object", "required": ["error"],
        "properties": [
            "error": [
                "type": "object", "required": ["code", "message"],
                "properties": ["code": ["type": "string"], "message": ["type": "string"]],
            ]
        ],
    ]

    /// The document for the routes the router serves.
    static func document(routes: [RouteSpec]) -> JSONValue {
        var paths = JSONObject()
        var entries = routes.map { ($0.method.rawValue, $0.pattern, $0.access) }
        entries.append(("GET", "/healthz", .anyone))
        for (method, pattern, access) in entries.sorted(by: { ($0.1, $0.0) < ($1.1, $1.0) }) {
            let key = "\(method) \(pattern)"
            let details = Self.details[key] ?? (pattern == "/healthz" ? Details(summary: "Alive (no database)") : Details(summary: key))
            var parameters: [JSONValue] = []
            for segment in pattern.split(separator: "/") where segment.hasPrefix("{") {
                let name = String(segment.dropFirst().dropLast())
                let schema: JSONValue = name == "id" ? ["type": "integer", "minimum": 1] : ["type": "string", "minLength": 1]
                let example: JSONValue = name == "id" ? 1 : name == "username" ? "annotator" : "manifest.json"
                parameters.append(["name": .string(name), "in": "path", "required": true, "schema": schema, "example": example])
            }
            for query in details.query {
                parameters.append([
                    "name": .string(query.name), "in": "query", "required": false, "description": .string(query.description),
                    "schema": ["type": .string(query.type)],
                ])
            }
            var success = JSONObject()
            var media = JSONObject()
            if details.produces.isEmpty { media["application/json"] = ["schema": ["type": "object"]] }
            for type in details.produces { media[type] = ["schema": [:]] }
            success["2XX"] = ["description": "Success", "content": .object(media)]
            for status in details.bodiless { success[status] = ["description": "Success, no body"] }
            success["default"] = [
                "description": "An error", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
            ]
            var operation: JSONObject = [
                "summary": .string(details.summary), "operationId": .string(operationID(method, pattern)),
                "parameters": .array(parameters), "responses": .object(success),
            ]
            if case .roles(let roles) = access {
                operation["security"] = [["bearer": []], ["session": []]]
                operation["description"] = .string("Roles: " + roles.map(\.rawValue).sorted().joined(separator: ", "))
            } else {
                operation["security"] = []
            }
            switch details.body {
            case .none: break
            case .json:
                operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": ["type": "object"]]]]
            case .jsonl:
                // JSON Lines; any content type is read the same way (text/plain for generic clients).
                operation["requestBody"] = [
                    "required": true,
                    "content": [
                        "application/x-ndjson": ["schema": ["type": "string"]],
                        "text/plain": ["schema": ["type": "string"]],
                    ],
                ]
            }
            var path = paths[pattern]?.objectValue ?? JSONObject()
            path[method.lowercased()] = .object(operation)
            paths[pattern] = .object(path)
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Arbiter", "version": "1.0.0",
                "description": "Human preference data for RLHF and DPO. Errors are JSON: {\"error\": {\"code\", \"message\"}}.",
            ],
            "paths": .object(paths),
            "components": [
                "schemas": ["Error": errorSchema],
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer", "description": "An API token (arbiter token create)"],
                    "session": [
                        "type": "apiKey", "in": "cookie", "name": "arbiter_session",
                        "description": "The session cookie; writes also need the X-CSRF-Token header",
                    ],
                ],
            ],
        ]
    }

    /// `GET /api/projects/{id}/next` → `getApiProjectsByIdNext`.
    static func operationID(_ method: String, _ pattern: String) -> String {
        func capitalized(_ text: Substring) -> String {
            text.split(whereSeparator: { $0 == "_" || $0 == "-" }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        }
        return method.lowercased()
            + pattern.split(separator: "/").map { part in
                part.hasPrefix("{") ? "By" + capitalized(part.dropFirst().dropLast()) : capitalized(part)
            }.joined()
    }
}
