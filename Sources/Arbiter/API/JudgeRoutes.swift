import Agreement
import HTTPServer
public import JSON
import Storage

/// Model judges of a project: admins add, run and remove them; reviewers read the
/// judge–human table and a judge's verdicts. ``JudgeService`` does the work.
struct JudgeRoutes: Sendable {
    let service: JudgeService

    func register(on api: inout APIRouter) {
        api.add(.GET, "/api/projects/{id}/judges", .reviewing) { request, _ in
            let report = try await service.report(projectID: try request.parameters.int("id"))
            return .json(report.json)
        }
        api.add(.POST, "/api/projects/{id}/judges", .admin) { request, caller in
            let registration = try Self.registration(try await request.jsonBody())
            let summary = try await service.add(
                projectID: try request.parameters.int("id"), registration, actor: caller.user.id, address: request.remoteAddress)
            return .json(["judge": .object(summary.json)], status: .created)
        }
        api.add(.DELETE, "/api/projects/{id}/judges/{name}", .admin) { request, caller in
            let name = try request.parameters.require("name")
            try await service.remove(
                projectID: try request.parameters.int("id"), name: name, actor: caller.user.id, address: request.remoteAddress)
            return .json(["removed": .string(name)])
        }
        api.add(.POST, "/api/projects/{id}/judges/{name}/run", .admin) { request, _ in
            let summary = try await service.start(projectID: try request.parameters.int("id"), name: try request.parameters.require("name"))
            return .json(["judge": .object(summary.json)], status: .accepted)
        }
        api.add(.GET, "/api/projects/{id}/judges/{name}/verdicts", .reviewing) { request, _ in
            let query = request.queryItems
            if let unknown = query.keys.sorted().first(where: { $0 != "after" && $0 != "limit" }) {
                throw ValidationError("\(unknown): unknown parameter (expected after, limit)")
            }
            guard let after = Int64(query["after"] ?? "0") else { throw ValidationError("after: a pair position (0 or more)") }
            guard let limit = Int(query["limit"] ?? "100") else { throw ValidationError("limit: 1 to 500") }
            let listed = try await service.verdicts(
                projectID: try request.parameters.int("id"), name: try request.parameters.require("name"), after: after, limit: limit)
            return .json([
                "verdicts": .array(listed.map { $0.verdict.json }),
                "next_after": listed.count == limit ? .int(listed.last!.id) : .null,
            ])
        }
    }

    /// `{"name","endpoint","template"?}`.
    static func registration(_ body: JSONValue) throws -> JudgeService.Registration {
        guard let object = body.objectValue else { throw ValidationError("body: expected a JSON object") }
        let known = ["name", "endpoint", "template"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw ValidationError("\(unknown): unknown field (expected \(known.joined(separator: ", ")))")
        }
        guard let name = object["name"]?.stringValue else { throw ValidationError("name: expected a string") }
        guard let endpoint = object["endpoint"]?.stringValue else { throw ValidationError("endpoint: expected an endpoint's name") }
        var template: String?
        switch object["template"] {
        case nil, .null?: template = nil
        case .string(let text)?: template = text
        default: throw ValidationError("template: expected a string with {prompt}, {response_1} and {response_2}")
        }
        return JudgeService.Registration(name: name, endpoint: endpoint, template: template)
    }
}

extension JudgeMeasures.Rate {
    /// `{"right","n","rate","ci95":[lo,hi]}` (rate and interval null when n is 0).
    var json: JSONValue {
        [
            "right": .int(Int64(right)), "n": .int(Int64(n)), "rate": value.map { .double($0) } ?? .null,
            "ci95": interval.map { .array([.double($0.low), .double($0.high)]) } ?? .null,
        ]
    }
}

extension JudgeService.Summary {
    var json: JSONObject {
        [
            "name": .string(judge.name), "rater": .string(judge.raterName), "endpoint": .string(judge.endpoint),
            "endpoint_configured": .bool(endpointConfigured), "template": .string(judge.template), "state": .string(judge.state),
            "last_error": judge.lastError.isEmpty ? .null : .string(judge.lastError),
            "verdicts": .int(Int64(judge.verdicts)), "unreadable": .int(Int64(judge.unreadable)), "pending": .int(Int64(pending)),
            "overlap": [
                "counted": .bool(judge.countedInOverlap), "estimated_accuracy": judge.estimatedAccuracy.map { .double($0) } ?? .null,
            ],
            "cost": [
                "requests": .int(Int64(judge.requests)), "failed_requests": .int(Int64(judge.failedRequests)),
                "prompt_tokens": .int(Int64(judge.promptTokens)), "completion_tokens": .int(Int64(judge.completionTokens)),
            ],
        ]
    }
}

extension JudgeService.Report {
    /// `{"judges":[{…summary, "measures":{…}}],"people_with_people":rate,"counted":bool,"default_template"}`.
    var json: JSONValue {
        [
            "judges": .array(
                judges.map { judge in
                    var object = judge.summary.json
                    let m = judge.measures
                    object["measures"] = [
                        "verdicts": .int(Int64(m.verdicts)), "unreadable": .int(Int64(m.unreadable)),
                        "inconsistent": .int(Int64(m.inconsistent)), "shown_first": m.shownFirst.json,
                        "with_people": m.withPeople.json, "decisive_where_people_agree": m.decisiveWherePeopleAgree.json,
                        "gold": m.gold.json,
                        "by_category": .array(
                            m.byCategory.map {
                                ["category": .string($0.category), "with_people": $0.withPeople.json, "gold": $0.gold.json]
                            }),
                    ]
                    return .object(object)
                }),
            "people_with_people": peopleWithPeople.json, "counted": .bool(counted),
            "default_template": .string(JudgePrompt.defaultTemplate),
        ]
    }
}

extension Judges.Listed {
    var json: JSONValue {
        [
            "pair": .string(pair), "first_shown": .string(firstSwapped ? "B" : "A"),
            "first_answer": firstAnswer.map { .string($0) } ?? .null, "second_answer": secondAnswer.map { .string($0) } ?? .null,
            "choice": choice.map { .string($0) } ?? .null, "rationale": .string(rationale), "gold": gold.map { .string($0) } ?? .null,
        ]
    }
}
