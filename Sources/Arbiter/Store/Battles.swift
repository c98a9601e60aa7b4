public import JSON
public import Storage

/// A battle while it runs: the two endpoints (hidden until the vote), its turns.
public struct Battle: Sendable {
    public var id: BattleID
    public var projectID: Int
    public var userID: Int
    public var modelA: String
    public var modelB: String
    public var state: State
    public var pairID: Int64?
    public var turns: [Turn]

    public struct Turn: Sendable {
        public var prompt: String
        public var responseA: String?
        public var responseB: String?
        /// {"a": {...}, "b": {...}} timings, once done.
        public var timings: JSONValue?
        public var state: State

        /// A turn's answers: arriving, both in, or one failed (the battle is void).
        public enum State: String, Sendable { case streaming, done, failed }
    }

    /// Open for turns and the vote, voted on, or void (a model failed).
    public enum State: String, Sendable { case open, voted, void }

    /// Each side's conversation so far: `[{role, content}]`, with the answers of done turns.
    func messages(side: Side) -> [(role: String, content: String)] {
        var messages: [(role: String, content: String)] = []
        for turn in turns {
            messages.append(("user", turn.prompt))
            if let answer = side == .a ? turn.responseA : turn.responseB { messages.append(("assistant", answer)) }
        }
        return messages
    }

    /// Left (A) or right (B).
    public enum Side: String, Sendable { case a, b }
}

/// Battles and their turns in SQL.
enum Battles {
    /// Prompts the user sent in the project since `since` (ms), failed ones too.
    static func promptsSince(_ db: any Database, projectID: Int, userID: Int, since: Int64) throws -> (count: Int, oldest: Int64?) {
        try db.queryFirst(
            "SELECT count(*), min(created_at) FROM battle_turns WHERE user_id = ? AND project_id = ? AND created_at > ?",
            [.int(Int64(userID)), .int(Int64(projectID)), .int(since)]
        ) { ($0.int(0), $0.isNull(1) ? nil : $0.int64(1)) } ?? (0, nil)
    }

    /// Battles per pair of endpoints in the project (void ones too: a model that fails still had its turn).
    static func battlesPerPair(_ db: any Database, projectID: Int) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for (a, b, n) in try db.query(
            "SELECT model_a, model_b, count(*) FROM battles WHERE project_id = ? GROUP BY model_a, model_b",
            [.int(Int64(projectID))], { ($0.string(0), $0.string(1), $0.int(2)) })
        {
            counts[key(a, b), default: 0] += n
        }
        return counts
    }

    /// The order-free key of two endpoint names.
    static func key(_ a: String, _ b: String) -> String { a < b ? a + "\u{0}" + b : b + "\u{0}" + a }

    static func create(
        _ db: any Database, projectID: Int, userID: Int, modelA: String, modelB: String, prompt: String, now: Int64
    ) throws -> BattleID {
        let id = BattleID(
            try db.insert(
                "INSERT INTO battles (project_id, user_id, model_a, model_b, state, created_at) VALUES (?, ?, ?, ?, 'open', ?)",
                [.int(Int64(projectID)), .int(Int64(userID)), .text(modelA), .text(modelB), .int(now)]))
        try addTurn(db, battleID: id, turn: 0, projectID: projectID, userID: userID, prompt: prompt, now: now)
        return id
    }

    static func addTurn(_ db: any Database, battleID: BattleID, turn: Int, projectID: Int, userID: Int, prompt: String, now: Int64) throws {
        try db.run(
            "INSERT INTO battle_turns (battle_id, turn, project_id, user_id, prompt, state, created_at) VALUES (?, ?, ?, ?, ?, 'streaming', ?)",
            [battleID.sql, .int(Int64(turn)), .int(Int64(projectID)), .int(Int64(userID)), .text(prompt), .int(now)])
    }

    /// Records how a turn ended; a failed turn voids the battle.
    static func finishTurn(
        _ db: any Database, battleID: BattleID, turn: Int, responseA: String?, responseB: String?, timings: JSONValue, failed: Bool
    ) throws {
        try db.run(
            "UPDATE battle_turns SET response_a = ?, response_b = ?, timings = ?, state = ? WHERE battle_id = ? AND turn = ? AND state = 'streaming'",
            [
                SQLValue(responseA), SQLValue(responseB), .text(timings.jsonText),
                .text((failed ? Battle.Turn.State.failed : .done).rawValue), battleID.sql, .int(Int64(turn)),
            ])
        if failed { try db.run("UPDATE battles SET state = 'void' WHERE id = ? AND state = 'open'", [battleID.sql]) }
    }

    static func find(_ db: any Database, id: BattleID) throws -> Battle? {
        guard
            var battle = try db.queryFirst(
                "SELECT id, project_id, user_id, model_a, model_b, state, pair_id FROM battles WHERE id = ?", [id.sql],
                { row in
                    Battle(
                        id: row.id(0), projectID: row.int(1), userID: row.int(2), modelA: row.string(3), modelB: row.string(4),
                        state: Battle.State(rawValue: row.string(5)) ?? .void, pairID: row.isNull(6) ? nil : row.int64(6), turns: [])
                })
        else { return nil }
        battle.turns = try db.query(
            "SELECT prompt, response_a, response_b, timings, state FROM battle_turns WHERE battle_id = ? ORDER BY turn", [id.sql]
        ) { row in
            Battle.Turn(
                prompt: row.string(0), responseA: row.optionalString(1), responseB: row.optionalString(2),
                timings: row.optionalString(3).flatMap { try? JSONValue.parse($0) },
                state: Battle.Turn.State(rawValue: row.string(4)) ?? .failed)
        }
        return battle
    }

    static func markVoted(_ db: any Database, battleID: BattleID, pairID: Int64) throws -> Bool {
        try db.run("UPDATE battles SET state = 'voted', pair_id = ? WHERE id = ? AND state = 'open'", [.int(pairID), battleID.sql]) == 1
    }
}
