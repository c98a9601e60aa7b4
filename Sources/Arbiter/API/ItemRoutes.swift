import HTTPServer
import JSON
import Storage

/// The item browser and final labels, for reviewers and admins (``ItemService``).
struct ItemRoutes: Sendable {
    let store: ArbiterStore
    var items: ItemService { ItemService(store: store) }
    let now: @Sendable () -> Int64

    func register(on api: inout APIRouter) {
        api.add(.GET, "/api/projects/{id}/pairs", .reviewing) { request, _ in
            let page = try await items.browse(projectID: try request.parameters.int("id"), items: request.queryItems)
            var object: JSONObject = [
                "pairs": .array(page.pairs.map(\.json)), "next": page.next.map { .string($0.text) } ?? .null,
                "complete": .bool(page.complete),
            ]
            if let examined = page.examined { object["examined"] = .int(Int64(examined)) }
            if let pending = page.searchPending { object["search_pending"] = .bool(pending) }
            return .json(.object(object))
        }
        api.add(.GET, "/api/projects/{id}/pairs/{pair}", .reviewing) { request, _ in
            .json(
                try await items.detail(projectID: try request.parameters.int("id"), externalID: try request.parameters.require("pair")))
        }
        api.add(.GET, "/api/projects/{id}/pairs/{pair}/decision", .reviewing) { request, _ in
            .json(
                try await items.decision(
                    projectID: try request.parameters.int("id"), externalID: try request.parameters.require("pair"), now: now()))
        }
        api.add(.PUT, "/api/projects/{id}/pairs/{pair}/label", .reviewing) { request, caller in
            guard let object = try await request.jsonBody().objectValue else { throw ValidationError("body: expected a JSON object") }
            if let unknown = object.keys.sorted().first(where: { $0 != "label" && $0 != "note" }) {
                throw ValidationError("\(unknown): unknown field")
            }
            guard let label = object["label"]?.stringValue else { throw ValidationError("label: A, B, tie or both_bad") }
            guard let note = object["note"].map({ $0.stringValue }) ?? "" else { throw ValidationError("note: expected a string") }
            let saved = try await items.setLabel(
                projectID: try request.parameters.int("id"), externalID: try request.parameters.require("pair"), label: label,
                note: note,
                actor: caller.user.id, address: request.remoteAddress, now: now())
            return .json(["final_label": saved])
        }
        api.add(.DELETE, "/api/projects/{id}/pairs/{pair}/label", .reviewing) { request, caller in
            try await items.clearLabel(
                projectID: try request.parameters.int("id"), externalID: try request.parameters.require("pair"),
                actor: caller.user.id,
                address: request.remoteAddress, now: now())
            return Response(status: .noContent)
        }
    }
}
