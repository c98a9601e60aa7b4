public import JSON
import Storage

// The JSON of what the repositories return: made here, at the edge, from their typed values.

extension Assignment {
    /// The annotator's view: an id, the lease's end and the texts as shown
    /// (left/right; a task's `responses` in the order shown). Never the pair's id,
    /// its kind (gold, repeat, normal), the canonical order or model names — the
    /// three kinds look exactly alike, so a rater cannot answer gold and repeats
    /// carefully and the rest at random.
    public var json: JSONValue {
        if let task {
            return [
                "id": .int(Int64(id)),
                "expires_at": .string(Clock.iso8601(milliseconds: expiresAt)), "prompt": prompt.json,
                "responses": .array(task.shownOrder.map { .string(task.responses[$0]) }),
            ]
        }
        return [
            "id": .int(Int64(id)),
            "expires_at": .string(Clock.iso8601(milliseconds: expiresAt)), "prompt": prompt.json,
            "left": .string(shownSwapped ? responseB : responseA), "right": .string(shownSwapped ? responseA : responseB),
        ]
    }
}

extension PairReport {
    public var json: JSONValue {
        [
            "id": .int(Int64(id)), "pair_id": .string(pairID), "prompt": prompt.json,
            "response_a": .string(responseA), "response_b": .string(responseB), "reason": .string(reason),
            "reporter": .string(reporter), "created_at": .string(Clock.iso8601(milliseconds: createdAt)),
            "resolved_at": resolvedAt.map { .string(Clock.iso8601(milliseconds: $0)) } ?? .null,
        ]
    }
}

extension PairDetail.Judgement {
    var json: JSONValue {
        var object: JSONObject = [
            "id": .int(id), "annotator": .string(rater), "rater_status": .string(raterStatus ?? "ok"), "kind": .string(kind),
            "choice": .string(choice), "strength": JSONValue(strength),
            "aspects": aspects.flatMap { try? JSONValue.parse($0) } ?? .null,
            "rationale": JSONValue(rationale), "shown_swapped": shownSwapped.map(JSONValue.bool) ?? .null,
            "duration_ms": JSONValue(durationMilliseconds), "created_at": .string(createdAt),
        ]
        if let ranking { object["ranking"] = (try? JSONValue.parse(ranking)) ?? .null }
        if let ratings { object["ratings"] = (try? JSONValue.parse(ratings)) ?? .null }
        if let rewrite { object["rewrite"] = ["base": .int(Int64(rewrite.base)), "text": .string(rewrite.text)] }
        return .object(object)
    }
}

extension PairDetail.Report {
    var json: JSONValue {
        [
            "id": .int(id), "annotator": .string(reporter), "reason": .string(reason),
            "created_at": .string(Clock.iso8601(milliseconds: createdAt)), "resolved": .bool(resolved),
        ]
    }
}

extension PairLabels.Label {
    var json: JSONValue {
        [
            "label": .string(label), "crowd": JSONValue(crowd), "note": .string(note), "reviewer": JSONValue(reviewer),
            "created_at": .string(createdAt), "label_source": "reviewer",
        ]
    }
}

extension RaterJudgements.Item {
    var json: JSONValue {
        [
            "id": .int(id), "pair": .string(pair), "prompt": prompt.json, "response_a": .string(responseA),
            "response_b": .string(responseB),
            "kind": .string(kind), "choice": .string(choice), "duration_ms": JSONValue(durationMilliseconds),
            "created_at": .string(createdAt), "consensus": consensus.map(JSONValue.string) ?? .null,
            "others": ["A": .int(Int64(othersA)), "B": .int(Int64(othersB))], "departs": departs.map(JSONValue.bool) ?? .null,
            "signals": .array(signals.map(JSONValue.string)), "picked_side": JSONValue(pickedSide),
            "gold_correct": kind == "gold" && gold != nil ? .bool(gold == choice) : .null,
        ]
    }
}

extension PairBrowser.Summary {
    var json: JSONValue {
        [
            "id": .string(externalID), "prompt_preview": .string(PairBrowser.preview(prompt)), "model_a": JSONValue(modelA),
            "model_b": JSONValue(modelB), "gold": JSONValue(gold),
            "votes": PairBrowser.votesJSON(votes),
            "judgements": .int(Int64(judgements)), "wanted": .int(Int64(wanted)), "disagreement": .double(disagreement),
            "open_reports": .int(Int64(openReports)), "final_label": JSONValue(label),
        ]
    }
}

extension Annotation {
    /// What the annotator who made it gets back: no pair id and no kind (see
    /// ``Assignment/json``). A task's ranking, ratings and rewrite base are given
    /// as shown (positions on screen), as they were sent.
    public var json: JSONValue {
        var object: JSONObject = [
            "id": .int(Int64(id)), "assignment_id": JSONValue(assignmentID),
            "choice": .string(choice.rawValue), "strength": JSONValue(strength),
            "aspects": aspects.map { .object($0) } ?? .null, "rationale": JSONValue(rationale),
            "shown_swapped": shownSwapped.map { .bool($0) } ?? .null, "duration_ms": JSONValue(durationMilliseconds),
            "created_at": .string(createdAt),
        ]
        let order = shownOrder ?? [0, 1]
        var position = Array(order.indices)
        for (shown, index) in order.enumerated() where index < position.count { position[index] = shown }
        if let ranking { object["ranking"] = ranking.mapped(position).json }
        if let ratings { object["ratings"] = ratings.shown(order).json(attributes: []) }
        if let rewrite {
            let base =
                shownOrder == nil
                ? ((shownSwapped ?? false) ? 1 - rewrite.base : rewrite.base) : position[min(rewrite.base, position.count - 1)]
            object["rewrite"] = ["base": .int(Int64(base)), "text": .string(rewrite.text)]
        }
        return .object(object)
    }
}
