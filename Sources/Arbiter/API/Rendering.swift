public import JSON
import Agreement

// JSON for the typed values services return: made here, at the edge, and nowhere else.

extension CollectionStatus {
    /// `{"overlap":…, "selection":…, "rater_accuracy"?, "selection_model"?, "judgements_by_selection"}`.
    public var json: JSONValue {
        var policy = settings.collectionPolicy.objectValue ?? [:]
        if let raterAccuracy {
            policy["rater_accuracy"] = [
                "raters": .int(Int64(raterAccuracy.raters)), "mean": raterAccuracy.mean.map { .double($0) } ?? .null,
                "counted": .int(Int64(raterAccuracy.counted)),
            ]
        }
        if settings.overlapRule.automatic {
            policy["stop_threshold"] =
                automaticThreshold.map { chosen -> JSONValue in
                    [
                        "threshold": .double(chosen.threshold), "expected_error": .double(chosen.expectedError),
                        "fixed_three_error": .double(chosen.fixedThreeError), "expected_judgements": .double(chosen.expectedJudgements),
                    ]
                } ?? ["threshold": .double(OverlapRule.initialAutomaticThreshold), "estimated": false]
        }
        if showsSelectionModel {
            policy["selection_model"] =
                selectionModel.map { model -> JSONValue in
                    [
                        "judgements_at_training": .int(Int64(model.judgementsAtTraining)), "retrains": .int(Int64(model.retrains)),
                        "trained_pairs": .int(Int64(model.trainedPairs)), "scored_pairs": .int(Int64(model.scoredPairs)),
                        "trained_at": .string(model.trainedAt),
                    ]
                } ?? .null
        }
        policy["judgements_by_selection"] = .object(
            JSONObject(judgementsBySelection.map { ($0.selection, JSONValue.int(Int64($0.count))) }))
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
    /// `{"done_today","done_total","left","in_progress"}`.
    public var json: JSONValue {
        [
            "done_today": .int(Int64(doneToday)), "done_total": .int(Int64(doneTotal)), "left": .int(Int64(left)),
            "in_progress": .int(Int64(inProgress)),
        ]
    }
}

extension RaterReport {
    /// `{"raters":[{"annotator","annotations","status","finding","evidence","honest_probability","comment","suspicion",
    /// "median_duration_ms","reasons","signals","gold"}],"model":{…}}` — every field in docs/API.md.
    public var json: JSONValue {
        [
            "model": [
                "honest_share": .double(crowd.honestShare), "sharpness_median": .double(crowd.sharpnessMedian),
                "sharpness_log_spread": .double(crowd.sharpnessLogSpread), "neutral_rate": .double(crowd.neutralRate),
                "flagged": .int(Int64(crowd.flagged)), "expected_false_flags": .double(crowd.expectedFalseFlags),
                "not_enough_evidence": .int(Int64(crowd.notEnoughEvidence)),
                "decision_threshold": .double(CrowdModel.decisionThreshold),
            ],
            "raters": .array(
                raters.map { rater in
                    var signals = JSONObject()
                    for (name, numbers) in rater.signals.sorted(by: { $0.key < $1.key }) {
                        var object = JSONObject()
                        for (key, value) in numbers.sorted(by: { $0.key < $1.key }) {
                            // The trigger and content signals name their word by id; the report names the word.
                            object[key] =
                                key == "token" ? .string(tokenNames[Int(value)] ?? "?") : (value.isFinite ? .double(value) : .null)
                        }
                        signals[name] = .object(object)
                    }
                    return [
                        "annotator": .string(rater.annotator), "annotations": .int(Int64(rater.annotations)),
                        "status": .string(rater.status), "comment": rater.comment.map { .string($0) } ?? .null,
                        "finding": rater.finding.map { .string($0.rawValue) } ?? .null,
                        "evidence": .string(rater.enoughEvidence ? "enough" : "not_enough"),
                        "honest_probability": rater.honestProbability.map { .double($0) } ?? .null,
                        "suspicion": .double(rater.suspicion),
                        "median_duration_ms": rater.medianDurationMilliseconds.map { .double($0) } ?? .null,
                        "reasons": .array(rater.reasons.map { ["signal": .string($0.signal), "detail": .string($0.detail)] }),
                        "signals": .object(signals),
                        "gold": ["right": .int(Int64(rater.gold.right)), "judged": .int(Int64(rater.gold.judged))],
                        "kind": .string(rater.kind.rawValue),
                    ]
                }),
        ]
    }
}

extension ProjectAgreement {
    /// Ranking projects: `kendall_w` {value: mean of each task's W over tasks with
    /// ≥ 2 rankings, tasks} and α over ranks; rating projects: `per_attribute`
    /// {attribute: {krippendorff_alpha: {interval, ordinal}, ratings}}.
    var taskJSON: JSONObject {
        func number(_ value: Double?) -> JSONValue { value.map { .double($0) } ?? .null }
        switch input.kind {
        case .pairwise:
            return [:]
        case .ranking:
            let w = KendallW.mean(input.rankings)
            // α over ranks: a unit per (task, response), each rater's rank of it.
            var units: [[Double]] = []
            for task in input.rankings where task.count >= 2 {
                for response in task[0].indices { units.append(task.map { $0[response] }) }
            }
            return [
                "kendall_w": ["value": number(w?.value), "tasks": .int(Int64(w?.tasks ?? 0))],
                "rank_alpha": [
                    "ordinal": number(Krippendorff.alpha(units: units, level: .ordinal)),
                    "interval": number(Krippendorff.alpha(units: units, level: .interval)),
                ],
            ]
        case .rating:
            var perAttribute = JSONObject()
            for attribute in input.attributes {
                let units = input.ratingUnits[attribute] ?? []
                perAttribute[attribute] = [
                    "krippendorff_alpha": [
                        "interval": number(Krippendorff.alpha(units: units, level: .interval)),
                        "ordinal": number(Krippendorff.alpha(units: units, level: .ordinal)),
                    ],
                    "ratings": .int(Int64(units.reduce(0) { $0 + $1.count })),
                ]
            }
            return ["per_attribute": .object(perAttribute)]
        }
    }

    /// The agreement report as the API and `arbiter agreement --json` give it.
    public var json: JSONValue {
        func number(_ value: Double?) -> JSONValue { value.map { .double($0) } ?? .null }
        var alpha = JSONObject()
        var ci = JSONObject()
        for level in Krippendorff.Level.allCases {
            alpha[level.rawValue] = number(report.alpha[level] ?? nil)
            ci[level.rawValue] = (report.alphaCI95[level] ?? nil).map { .array([.double($0.low), .double($0.high)]) } ?? .null
        }
        let names = Choice.allCases.map(\.rawValue)
        var byUnit: [Int: [Judgement]] = [:]
        for judgement in input.judgements { byUnit[judgement.unit, default: []].append(judgement) }
        var object: JSONObject = [
            "units": .int(Int64(report.units)), "judgements": .int(Int64(report.judgements)), "raters": .int(Int64(report.raters)),
            "excluded": ["quarantined_raters": .int(Int64(input.quarantinedRaters)), "judgements": .int(Int64(input.excludedJudgements))],
            "krippendorff_alpha": .object(alpha), "alpha_ci95": .object(ci),
            "fleiss_kappa": [
                "value": number(report.fleiss.value), "pairs": .int(Int64(report.fleiss.pairs)),
                "raters_per_pair": .int(Int64(report.fleiss.ratersPerPair)),
            ],
            "percent_agreement": number(report.percentAgreement),
            "cohen_kappa": .array(
                report.cohen.map {
                    [
                        "a": .string(input.raterNames[$0.a]), "b": .string(input.raterNames[$0.b]), "shared": .int(Int64($0.shared)),
                        "kappa": number($0.kappa),
                    ]
                }),
            "contested_pairs": .array(
                report.contested.map { entry in
                    var counts = JSONObject()
                    for judgement in byUnit[entry.unit] ?? [] {
                        let name = names[judgement.category]
                        counts[name] = .int((counts[name]?.intValue ?? 0) + 1)
                    }
                    let ratings: [JSONValue] = (byUnit[entry.unit] ?? []).map {
                        ["annotator": .string(input.raterNames[$0.rater]), "choice": .string(names[$0.category])]
                    }
                    return [
                        "pair_id": .string(input.pairIDs[entry.unit]), "entropy": .double(entry.entropy),
                        "judgements": .int(Int64(entry.judgements)), "choices": .object(counts), "ratings": .array(ratings),
                    ]
                }),
        ]
        object["kind"] = .string(input.kind.rawValue)
        for member in taskJSON { object[member.key] = member.value }
        return .object(object)
    }

    /// The three numbers dashboards and manifests show.
    public var summaryJSON: JSONValue {
        [
            "krippendorff_alpha": report.alpha[.nominal].flatMap { $0 }.map { .double($0) } ?? .null,
            "fleiss_kappa": report.fleiss.value.map { .double($0) } ?? .null,
            "judgements": .int(Int64(report.judgements)),
        ]
    }
}

extension ExportManifest.Counts {
    /// `{"pairs_exported","annotations_used","annotations_excluded","dropped","label_sources"}` or `{"annotations","annotations_excluded"}`.
    public var json: JSONValue {
        switch self {
        case .pairwise(let exported, let used, let excluded, let dropped, let reviewerLabels, let goldLabels):
            return [
                "pairs_exported": .int(Int64(exported)), "annotations_used": .int(Int64(used)),
                "annotations_excluded": .int(Int64(excluded)),
                "dropped": .object(JSONObject(dropped.map { ($0.reason, JSONValue.int(Int64($0.count))) })),
                "label_sources": [
                    "crowd": .int(Int64(exported - reviewerLabels - goldLabels)), "gold": .int(Int64(goldLabels)),
                    "reviewer": .int(Int64(reviewerLabels)),
                ],
            ]
        case .raw(let annotations, let excluded):
            return ["annotations": .int(Int64(annotations)), "annotations_excluded": .int(Int64(excluded))]
        }
    }
}

extension ExportManifest.File {
    /// `{"path","sha256","lines"}`.
    public var json: JSONValue { ["path": .string(path), "sha256": .string(sha256), "lines": .int(Int64(lines))] }
}

extension ExportManifest {
    /// The manifest file's JSON.
    public var json: JSONValue {
        let alpha: JSONValue =
            agreement.map { agreement in
                .object(
                    JSONObject(
                        Krippendorff.Level.allCases.map { level in
                            (level.rawValue, (agreement.report.alpha[level] ?? nil).map { JSONValue.double($0) } ?? .null)
                        }))
            } ?? .null
        return [
            "project": ["id": .int(Int64(projectID)), "name": .string(projectName)],
            "created_at": .string(Clock.iso8601(milliseconds: createdAt)), "format": .string(options.format.rawValue),
            "filters": [
                "aggregate": .string(options.aggregate.rawValue), "min_agreement": .double(options.minAgreement),
                "include_flagged": .bool(options.includeFlagged), "test_fraction": options.testFraction.map { .double($0) } ?? .null,
                "seed": .int(Int64(bitPattern: options.seed)), "margin": .bool(options.margin),
                "ranking_pairs": .string(options.rankingPairs.rawValue), "min_gap": .double(options.minGap),
                "rewrite_pairs": .bool(options.rewritePairs), "reward_loss": .string(options.rewardLoss.rawValue),
                "include_judges": options.includeJudges.map { .bool($0) } ?? .null,
            ],
            "judges": [
                "counted": .bool(judges.counted), "reason": judges.reason.map { .string($0) } ?? .null,
                "judges": .array(judges.names.map { .string($0) }), "votes": .int(Int64(judges.votes)),
                "left_out": .array(judges.leftOut.map { ["judge": .string($0.name), "reason": .string($0.reason)] }),
            ],
            "counts": counts.json,
            "excluded_raters": .array(excludedRaters.map { ["annotator": JSONValue($0.annotator), "reason": .string($0.reason)] }),
            "weighted_raters": .array(weightedRaters.map { .string($0) }),
            "agreement": [
                "krippendorff_alpha": alpha, "fleiss_kappa": agreement?.report.fleiss.value.map { .double($0) } ?? .null,
                "judgements": agreement.map { .int(Int64($0.report.judgements)) } ?? .null,
            ],
            "files": .array(files.map(\.json)),
            "reward_model": rewardModel.map {
                ["directory": .string($0.directory), "held_out": .string($0.heldOut), "metrics": $0.metrics]
            } ?? .null,
            "collection": collection?.json ?? .null,
        ]
    }
}

extension DashboardReport {
    /// `{"pairs":{…},"live_leases","collection","judgements_per_day","since","judgements_per_annotator","agreement"}`.
    public var json: JSONValue {
        [
            "pairs": [
                "total": .int(Int64(total)), "complete": .int(Int64(complete)), "in_progress": .int(Int64(inProgress)),
                "untouched": .int(Int64(untouched)), "gold": .int(Int64(gold)),
            ],
            "live_leases": .int(Int64(liveLeases)),
            "collection": collection.json,
            "judgements_per_day": .array(judgementsPerDay.map { ["day": .string($0.day), "judgements": .int(Int64($0.judgements))] }),
            "since": .string(since),
            "judgements_per_annotator": .array(
                judgementsPerAnnotator.map {
                    ["annotator": .string($0.annotator), "judgements": .int(Int64($0.judgements)), "last_at": .string($0.lastAt)]
                }),
            "agreement": agreement.summaryJSON,
        ]
    }
}

extension User {
    /// `{"id","username","role"}`.
    public var json: JSONValue { ["id": .int(Int64(id)), "username": .string(username), "role": .string(role.rawValue)] }
}

extension UserSummary {
    /// The user with `can_log_in`, `disabled`, `created_at`, `judgements`, `last_seen_at`.
    public var json: JSONValue {
        var object = user.json.objectValue ?? JSONObject()
        object["can_log_in"] = .bool(user.canLogIn)
        object["disabled"] = .bool(user.disabled)
        object["created_at"] = .string(createdAt)
        object["judgements"] = .int(Int64(judgements))
        object["last_seen_at"] = lastSeen.map { .string(Clock.iso8601(milliseconds: $0)) } ?? .null
        return .object(object)
    }
}

extension Invite {
    /// `{"id","role","created_at","expires_at","used","revoked"}` — never the token.
    public var json: JSONValue {
        [
            "id": .int(Int64(id)), "role": .string(role.rawValue),
            "created_at": .string(Clock.iso8601(milliseconds: createdAt)), "expires_at": .string(Clock.iso8601(milliseconds: expiresAt)),
            "used": .bool(usedAt != nil), "revoked": .bool(revokedAt != nil),
        ]
    }
}

extension AuditEntry {
    /// `{"id","at","actor","action","target","details","address"}`.
    public var json: JSONValue {
        [
            "id": .int(Int64(id)), "at": .string(Clock.iso8601(milliseconds: at)), "actor": JSONValue(actor),
            "action": .string(action), "target": .string(target),
            "details": (try? JSONValue.parse(details)) ?? .object(JSONObject()), "address": .string(address),
        ]
    }
}

extension PairDecision {
    /// `{"label","label_source","dropped","share","aggregate","counted":{"A","B","tie","both_bad"}}`.
    var json: JSONValue {
        [
            "label": JSONValue(label), "label_source": JSONValue(source), "dropped": JSONValue(dropped),
            "share": share.map(JSONValue.double) ?? .null,
            "aggregate": .string(aggregate.rawValue), "counted": PairBrowser.votesJSON(counted),
            "as_of": .string(Clock.iso8601(milliseconds: asOf)), "judgements_since": .int(Int64(judgementsSince)),
        ]
    }
}
