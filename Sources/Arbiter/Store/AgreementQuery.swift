import Agreement
public import JSON
public import Storage

/// A project's agreement, computed from its stored judgements.
///
/// Units are pairs with at least one judgement; each rater's **first** judgement
/// on a pair counts (repeats only feed self-consistency).
public enum AgreementQuery {
    /// The agreement report as the API and `arbiter agreement --json` give it.
    public static func report(_ db: Database, projectID: Int, bootstrap: Int = 1000, seed: UInt64 = 42) throws -> JSONValue {
        var pairIndex: [Int64: Int] = [:]
        var pairIDs: [String] = []
        var raterIndex: [Int: Int] = [:]
        var raterNames: [String] = []
        var judgements: [Judgement] = []
        let quarantined = try RaterStatus.quarantined(db, projectID: projectID)
        var excludedJudgements = 0
        let rows = try db.statement(
            """
            SELECT n.pair_id, p.external_id, n.user_id, u.username, n.choice, n.strength
            FROM annotations n JOIN pairs p ON p.id = n.pair_id JOIN users u ON u.id = n.user_id
            WHERE n.project_id = ? AND n.kind != 'repeat'
            ORDER BY n.pair_id, n.user_id, n.id
            """)
        try rows.bind([.int(Int64(projectID))])
        var previous: (pair: Int64, user: Int) = (-1, -1)
        try rows.forEach { row in
            let pair = row.int64(0)
            let user = row.int(2)
            // First judgement per rater and pair (rows are ordered, so repeats are adjacent).
            guard pair != previous.pair || user != previous.user else { return }
            previous = (pair, user)
            // Quarantined raters are left out — and counted, never dropped silently.
            if quarantined.contains(user) {
                excludedJudgements += 1
                return
            }
            let unit = pairIndex[pair] ?? {
                pairIndex[pair] = pairIDs.count
                pairIDs.append(row.string(1))
                return pairIDs.count - 1
            }()
            let rater = raterIndex[user] ?? {
                raterIndex[user] = raterNames.count
                raterNames.append(row.string(3))
                return raterNames.count - 1
            }()
            let choice = Choice(rawValue: row.string(4)) ?? .tie
            let category = choice.category
            judgements.append(Judgement(
                unit: unit, rater: rater, category: category, signed: choice.signedPreference(strength: row.optionalInt(5))))
        }
        let report = AgreementReport.compute(judgements, bootstrap: bootstrap, seed: seed)
        func number(_ value: Double?) -> JSONValue { value.map { .double($0) } ?? .null }
        var alpha = JSONObject()
        var ci = JSONObject()
        for level in Krippendorff.Level.allCases {
            alpha[level.rawValue] = number(report.alpha[level] ?? nil)
            ci[level.rawValue] = (report.alphaCI95[level] ?? nil).map { .array([.double($0.low), .double($0.high)]) } ?? .null
        }
        let names = Choice.allCases.map(\.rawValue)
        var byUnit: [Int: [Judgement]] = [:]
        for judgement in judgements { byUnit[judgement.unit, default: []].append(judgement) }
        return [
            "units": .int(Int64(report.units)), "judgements": .int(Int64(report.judgements)), "raters": .int(Int64(report.raters)),
            "excluded": ["quarantined_raters": .int(Int64(quarantined.count)), "judgements": .int(Int64(excludedJudgements))],
            "krippendorff_alpha": .object(alpha), "alpha_ci95": .object(ci),
            "fleiss_kappa": [
                "value": number(report.fleiss.value), "pairs": .int(Int64(report.fleiss.pairs)),
                "raters_per_pair": .int(Int64(report.fleiss.ratersPerPair)),
            ],
            "percent_agreement": number(report.percentAgreement),
            "cohen_kappa": .array(report.cohen.map {
                ["a": .string(raterNames[$0.a]), "b": .string(raterNames[$0.b]), "shared": .int(Int64($0.shared)), "kappa": number($0.kappa)]
            }),
            "contested_pairs": .array(report.contested.map { entry in
                var counts = JSONObject()
                for judgement in byUnit[entry.unit] ?? [] {
                    let name = names[judgement.category]
                    counts[name] = .int((counts[name]?.intValue ?? 0) + 1)
                }
                let ratings: [JSONValue] = (byUnit[entry.unit] ?? []).map {
                    ["annotator": .string(raterNames[$0.rater]), "choice": .string(names[$0.category])]
                }
                return ["pair_id": .string(pairIDs[entry.unit]), "entropy": .double(entry.entropy),
                        "judgements": .int(Int64(entry.judgements)), "choices": .object(counts), "ratings": .array(ratings)]
            }),
        ]
    }
}
