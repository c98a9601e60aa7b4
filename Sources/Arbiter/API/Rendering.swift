public import JSON

// JSON for the typed values services return: made here, at the edge, and nowhere else.

extension CollectionStatus {
    /// `{"overlap":…, "selection":…, "rater_accuracy"?, "selection_model"?, "judgements_by_selection"}`.
    public var json: JSONValue {
        var policy = settings.collectionPolicy.objectValue ?? [:]
        if let raterAccuracy {
            policy["rater_accuracy"] = ["raters": .int(Int64(raterAccuracy.raters)), "mean": raterAccuracy.mean.map { .double($0) } ?? .null]
        }
        if showsSelectionModel {
            policy["selection_model"] = selectionModel.map { model -> JSONValue in
                [
                    "judgements_at_training": .int(Int64(model.judgementsAtTraining)), "retrains": .int(Int64(model.retrains)),
                    "trained_pairs": .int(Int64(model.trainedPairs)), "scored_pairs": .int(Int64(model.scoredPairs)),
                    "trained_at": .string(model.trainedAt),
                ]
            } ?? .null
        }
        policy["judgements_by_selection"] = .object(JSONObject(judgementsBySelection.map { ($0.selection, JSONValue.int(Int64($0.count))) }))
        return .object(policy)
    }
}

extension ProjectSummary {
    /// The project's JSON with `pairs` and `annotations`: the API's list and `arbiter project list --json`.
    public var json: JSONValue {
        var object = project.json.objectValue ?? JSONObject()
        object["pairs"] = .int(Int64(pairs))
        object["annotations"] = .int(Int64(annotations))
        return .object(object)
    }
}

extension TokenSummary {
    /// `{"id","username","label","created_at","last_used_at","revoked"}` — never the token.
    public var json: JSONValue {
        [
            "id": .int(id), "username": .string(username), "label": .string(label), "created_at": .string(createdAt),
            "last_used_at": lastUsedAt.map(JSONValue.string) ?? .null, "revoked": .bool(revoked),
        ]
    }
}

extension AnnotatorProgress {
    /// `{"done_today","done_total","left"}`.
    public var json: JSONValue { ["done_today": .int(Int64(doneToday)), "done_total": .int(Int64(doneTotal)), "left": .int(Int64(left))] }
}
