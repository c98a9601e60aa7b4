public import ModelEndpoints
import JSON
import Logging
import Storage
import Synchronization

/// Arena battles: the annotator's prompt goes to two endpoints drawn so that every
/// pair of models gets its share of battles; both answers stream into the page
/// side by side, names hidden; follow-ups continue each side's own conversation;
/// the vote is stored as a pair (`model_a`/`model_b` named, both conversations and
/// timings in its metadata) with one judgement, so agreement, rater signals,
/// exports, the reward model and the leaderboard all read it like any other.
///
/// State lives in the database (`battles`, `battle_turns`), so a battle started
/// on one node is voted on through another. Model calls go through the
/// ``ModelPool`` (opened on its threads, read on its stream loop), each only once
/// its endpoint has a free slot.
public struct ArenaService: Sendable {
    let store: ArbiterStore
    let models: ModelPool
    let now: @Sendable () -> Int64
    let logger = Logger(label: "arbiter.arena")

    /// The longest answer kept per side and turn (bytes); a longer one is cut there.
    public static let maxAnswerBytes = 64 * 1024

    public init(store: ArbiterStore, models: ModelPool, now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.models = models
        self.now = now
    }

    /// A turn ready to stream: the battle with the new turn's prompt last.
    public struct TurnRun: Sendable {
        public var battle: Battle
        public var turn: Int
        var endpoints: (a: ModelEndpoint, b: ModelEndpoint)
        var maxTurns: Int
    }

    // MARK: What the page needs

    /// The arena's state for this annotator: prompts left this hour, turns per
    /// battle, the vote options; with `draw`, a prompt from the pool.
    public func status(projectID: Int, userID: Int, membersOnly: Bool, draw: Bool) async throws -> ArenaStatus {
        let now = now()
        let (project, sent) = try await store.pool.read { db in
            let project = try Self.arenaProject(db, projectID: projectID, userID: userID, membersOnly: membersOnly)
            return (project, try Battles.promptsSince(db, projectID: projectID, userID: userID, since: now - 3_600_000))
        }
        let arena = project.settings.arena!
        let available = arena.endpoints.filter { models.endpoint(named: $0) != nil }.count
        return ArenaStatus(
            project: project, arena: arena, promptsLeft: max(0, arena.promptsPerHour - sent.count),
            retryAfterMilliseconds: sent.count >= arena.promptsPerHour ? max(0, (sent.oldest ?? now) + 3_600_000 - now) : nil,
            modelsAvailable: available, drawn: draw ? arena.promptPool.randomElement() : nil)
    }

    /// What the arena page needs to know.
    public struct ArenaStatus: Sendable {
        public var project: Project
        public var arena: ArenaSettings
        public var promptsLeft: Int
        /// When the hour's quota runs out: how long until a prompt may be sent again.
        public var retryAfterMilliseconds: Int64?
        /// Endpoints of the arena this server has (two are needed).
        public var modelsAvailable: Int
        /// A prompt drawn from the pool, when asked for.
        public var drawn: String?
    }

    /// The models named after a vote.
    public struct Reveal: Sendable, Equatable {
        public var battle: BattleID
        public var choice: Choice
        public var modelA: String
        public var modelB: String
        /// The pair the vote is stored as.
        public var pair: String
    }

    // MARK: Starting a battle, following up

    /// Checks and records the first turn of a new battle between two endpoints drawn
    /// for balance; the caller then streams it with ``run(_:to:)``.
    public func start(projectID: Int, userID: Int, membersOnly: Bool, prompt: String) async throws -> TurnRun {
        let prompt = try Self.checked(prompt)
        let project = try await store.pool.read { db in
            try Self.arenaProject(db, projectID: projectID, userID: userID, membersOnly: membersOnly)
        }
        let arena = project.settings.arena!
        try await screen(prompt, arena)
        let available = arena.endpoints.filter { models.endpoint(named: $0) != nil }
        guard available.count >= 2 else {
            throw ServiceError.unavailable("this project's models are not configured on this server (arbiter serve --endpoints-file)")
        }
        // The least-battled pair first (ties at random), whose endpoints both have a free slot.
        let counts = try await store.pool.read { db in try Battles.battlesPerPair(db, projectID: projectID) }
        var candidates: [(String, String)] = []
        for i in available.indices { for j in available.indices where j > i { candidates.append((available[i], available[j])) } }
        candidates.shuffle()
        candidates.sort { counts[Battles.key($0.0, $0.1), default: 0] < counts[Battles.key($1.0, $1.1), default: 0] }
        guard var chosen = candidates.first(where: { models.reserve([$0.0, $0.1]) }) else {
            throw ServiceError.unavailable("every model is busy; try again in a moment")
        }
        if Bool.random() { chosen = (chosen.1, chosen.0) }
        let pair = chosen
        do {
            let now = now()
            let id = try await store.pool.write { db in
                try RowLocks.annotator(db, userID: userID)
                try Self.checkRate(db, projectID: projectID, userID: userID, arena: arena, now: now)
                return try Battles.create(
                    db, projectID: projectID, userID: userID, modelA: pair.0, modelB: pair.1, prompt: prompt, now: now)
            }
            let battle = Battle(
                id: id, projectID: projectID, userID: userID, modelA: pair.0, modelB: pair.1, state: .open, pairID: nil,
                turns: [Battle.Turn(prompt: prompt, state: .streaming)])
            return TurnRun(
                battle: battle, turn: 0, endpoints: (models.endpoint(named: pair.0)!, models.endpoint(named: pair.1)!),
                maxTurns: arena.maxTurns)
        } catch {
            models.release(pair.0)
            models.release(pair.1)
            throw error
        }
    }

    /// Checks and records a follow-up prompt in an open battle.
    public func followUp(battleID: BattleID, userID: Int, prompt: String) async throws -> TurnRun {
        let prompt = try Self.checked(prompt)
        let (battle, project) = try await store.pool.read { db in try Self.ownBattle(db, battleID: battleID, userID: userID) }
        let arena = project.settings.arena!
        try Self.checkOpen(battle, arena: arena)
        try await screen(prompt, arena)
        guard let a = models.endpoint(named: battle.modelA), let b = models.endpoint(named: battle.modelB) else {
            throw ServiceError.unavailable("this battle's models are no longer configured on this server")
        }
        guard models.reserve([a.name, b.name]) else { throw ServiceError.unavailable("the models are busy; try again in a moment") }
        do {
            let now = now()
            let turn = try await store.pool.write { db in
                try RowLocks.annotator(db, userID: userID)
                // Again inside the lock: two follow-ups sent at once make one turn.
                guard let current = try Battles.find(db, id: battleID) else { throw ServiceError.notFound("no such battle") }
                try Self.checkOpen(current, arena: arena)
                try Self.checkRate(db, projectID: battle.projectID, userID: userID, arena: arena, now: now)
                try Battles.addTurn(
                    db, battleID: battleID, turn: current.turns.count, projectID: battle.projectID, userID: userID,
                    prompt: prompt, now: now)
                return current.turns.count
            }
            var running = battle
            running.turns.append(Battle.Turn(prompt: prompt, state: .streaming))
            return TurnRun(battle: running, turn: turn, endpoints: (a, b), maxTurns: arena.maxTurns)
        } catch {
            models.release(a.name)
            models.release(b.name)
            throw error
        }
    }

    // MARK: The vote

    /// Stores the vote as a pair and a judgement and reveals the names. Voting
    /// again returns the first vote's result.
    public func vote(battleID: BattleID, userID: Int, choice: Choice, durationMilliseconds: Int?) async throws -> Reveal {
        let now = now()
        return try await store.pool.write { db in
            try RowLocks.annotator(db, userID: userID)
            let (battle, project) = try Self.ownBattle(db, battleID: battleID, userID: userID)
            if battle.state == .voted, let pairID = battle.pairID {
                return Self.reveal(battle, choice: try Annotations.firstChoice(db, pairID: pairID, userID: userID) ?? choice)
            }
            guard battle.state == .open else {
                throw ServiceError.conflict(
                    code: "battle_void", message: "a model failed in this battle, so it cannot be voted on; start a new one")
            }
            guard !battle.turns.contains(where: { $0.state == .streaming }) else {
                throw ServiceError.conflict(code: "battle_streaming", message: "wait until both answers are in")
            }
            guard battle.turns.contains(where: { $0.state == .done }) else {
                throw ServiceError.conflict(code: "battle_void", message: "this battle has no answers to vote on")
            }
            switch choice {
            case .tie where !project.settings.allowTies: throw ValidationError("choice: this project does not allow ties")
            case .bothBad where !project.settings.allowBothBad: throw ValidationError("choice: this project does not allow \"both bad\"")
            default: break
            }
            let input = Self.pairInput(battle)
            var report = ImportReport()
            try PairRows(db, projectID: project.id, importID: nil).insert([input], line: 0, into: &report)
            let judgements = try JudgementRows(db, projectID: project.id)
            guard let (pairID, _, _) = try judgements.pair(externalID: input.externalID!) else {
                throw ServiceError.conflict(code: "battle_pair", message: "the pair id \(input.externalID!) is taken by another pair")
            }
            let judgement = ImportedJudgement(
                pair: input.externalID!, annotator: "", choice: choice, shownSwapped: false,
                durationMilliseconds: durationMilliseconds)
            try judgements.insert(judgement, pairID: pairID, userID: userID, kind: .normal, createdAt: Clock.iso8601(milliseconds: now))
            guard try Battles.markVoted(db, battleID: battleID, pairID: pairID) else {
                throw ServiceError.conflict(code: "battle_void", message: "this battle can no longer be voted on")
            }
            return Self.reveal(battle, choice: choice)
        }
    }

    /// A battle of its annotator's (the route shows the names only once voted).
    public func battle(id: BattleID, userID: Int) async throws -> Battle {
        try await store.pool.read { db in try Self.ownBattle(db, battleID: id, userID: userID) }.0
    }

    // MARK: Checks

    static func reveal(_ battle: Battle, choice: Choice) -> Reveal {
        Reveal(battle: battle.id, choice: choice, modelA: battle.modelA, modelB: battle.modelB, pair: "battle-\(battle.id)")
    }

    /// The stored pair: the first turn's prompt and answers (what every export
    /// trains on); with follow-ups, both whole conversations in the metadata.
    static func pairInput(_ battle: Battle) -> PairInput {
        let done = battle.turns.filter { $0.state == .done }
        func conversation(_ side: Battle.Side) -> JSONValue {
            .array(battle.messages(side: side).map { ["role": .string($0.role), "content": .string($0.content)] })
        }
        let metadata: JSONObject = [
            "arena": true, "battle": battle.id.json, "turns": .int(Int64(done.count)),
            "conversation_a": conversation(.a), "conversation_b": conversation(.b),
            "timings": .array(done.map { $0.timings ?? .null }),
        ]
        let first = done[0]
        return PairInput(
            externalID: "battle-\(battle.id)", prompt: .text(first.prompt), responseA: first.responseA ?? "",
            responseB: first.responseB ?? "", modelA: battle.modelA, modelB: battle.modelB, metadata: metadata, gold: nil)
    }

    static func checked(_ prompt: String) throws(ValidationError) -> String {
        let trimmed = prompt.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw ValidationError("prompt: type a prompt (or draw one)") }
        guard trimmed.utf8.count <= ArenaSettings.maxPromptBytes else {
            throw ValidationError("prompt: at most \(ArenaSettings.maxPromptBytes / 1000) KB")
        }
        return trimmed
    }

    /// The blocked words, then the moderation endpoint, before a prompt leaves the server.
    func screen(_ prompt: String, _ arena: ArenaSettings) async throws {
        if let word = arena.blockedWord(in: prompt) { throw ValidationError("prompt: contains a blocked word (\(word)); it was not sent") }
        if arena.moderation {
            guard models.moderation != nil else {
                throw ServiceError.unavailable("moderation is on for this project but this server has no moderation endpoint")
            }
            switch await models.moderate(prompt) {
            case .passed: break
            case .unavailable: throw ServiceError.unavailable("moderation is unavailable, so the prompt was not sent")
            case .refused(let categories):
                throw ValidationError(
                    "prompt: the prompt was refused by moderation" + (categories.isEmpty ? "" : " (\(categories.joined(separator: ", ")))"))
            }
        }
    }

    static func arenaProject(_ db: any Database, projectID: Int, userID: Int, membersOnly: Bool) throws -> Project {
        guard let project = try Projects.find(db, id: projectID) else { throw ServiceError.noSuchProject }
        if membersOnly, try !ProjectMembers.allows(db, projectID: projectID, userID: userID) { throw ServiceError.noSuchProject }
        guard project.settings.arena != nil else {
            throw ServiceError.conflict(code: "not_arena", message: "project '\(project.name)' is not an arena project")
        }
        return project
    }

    /// The caller's own battle (anyone else's is "no such battle").
    static func ownBattle(_ db: any Database, battleID: BattleID, userID: Int) throws -> (Battle, Project) {
        guard let battle = try Battles.find(db, id: battleID), battle.userID == userID,
            let project = try Projects.find(db, id: battle.projectID), project.settings.arena != nil
        else {
            throw ServiceError.notFound("no such battle")
        }
        return (battle, project)
    }

    static func checkOpen(_ battle: Battle, arena: ArenaSettings) throws {
        switch battle.state {
        case .voted: throw ServiceError.conflict(code: "battle_voted", message: "this battle is voted on; start a new one")
        case .void: throw ServiceError.conflict(code: "battle_void", message: "a model failed in this battle; start a new one")
        case .open: break
        }
        guard !battle.turns.contains(where: { $0.state == .streaming }) else {
            throw ServiceError.conflict(code: "battle_streaming", message: "wait until both answers are in")
        }
        guard battle.turns.count < arena.maxTurns else {
            throw ServiceError.conflict(
                code: "battle_turns", message: "this battle has had its \(arena.maxTurns) turns; vote to see the models")
        }
    }

    static func checkRate(_ db: any Database, projectID: Int, userID: Int, arena: ArenaSettings, now: Int64) throws {
        let sent = try Battles.promptsSince(db, projectID: projectID, userID: userID, since: now - 3_600_000)
        guard sent.count < arena.promptsPerHour else {
            let wait = max(1000, (sent.oldest ?? now) + 3_600_000 - now)
            throw ServiceError.tooManyAttempts(
                retryAfter: wait,
                message: "\(arena.promptsPerHour) prompts an hour in this project; the next one in \(max(1, wait / 60_000)) min")
        }
    }
}
