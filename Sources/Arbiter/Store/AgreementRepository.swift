public import Agreement
import Storage

/// What agreement is computed from: each rater's **first** judgement on each pair
/// of a project (repeats only feed self-consistency), quarantined raters left out
/// and counted.
public struct AgreementInput: Sendable {
    /// Units are pairs with at least one counted judgement.
    public var judgements: [Judgement] = []
    /// Each unit's external pair id.
    public var pairIDs: [String] = []
    /// Each rater's username.
    public var raterNames: [String] = []
    /// Raters left out, and their judgements.
    public var quarantinedRaters = 0
    public var excludedJudgements = 0
}

/// The SQL behind agreement.
enum AgreementRepository {
    static func input(_ db: any Database, projectID: Int) throws -> AgreementInput {
        var input = AgreementInput()
        var pairIndex: [Int64: Int] = [:]
        var raterIndex: [Int: Int] = [:]
        let quarantined = try RaterStatus.quarantined(db, projectID: projectID)
        input.quarantinedRaters = quarantined.count
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
            if quarantined.contains(user) {
                input.excludedJudgements += 1
                return
            }
            let unit = pairIndex[pair] ?? {
                pairIndex[pair] = input.pairIDs.count
                input.pairIDs.append(row.string(1))
                return input.pairIDs.count - 1
            }()
            let rater = raterIndex[user] ?? {
                raterIndex[user] = input.raterNames.count
                input.raterNames.append(row.string(3))
                return input.raterNames.count - 1
            }()
            let choice = Choice(rawValue: row.string(4)) ?? .tie
            input.judgements.append(Judgement(
                unit: unit, rater: rater, category: choice.category, signed: choice.signedPreference(strength: row.optionalInt(5))))
        }
        return input
    }
}
