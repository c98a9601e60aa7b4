public import Storage
import JSON
import RewardModel

/// `arbiter serve --demo`: a complete first run. A demo project (51 pairs), one
/// person per role who can sign in with a printed random password, and judgements
/// from five simulated raters — one of whom always clicks the left response in
/// about a second — so that the review page and the dashboard show something real.
///
/// Running it again on the same file imports nothing and gives the demo people new
/// passwords (the old ones stop working and their sessions end).
public enum DemoData {
    /// One person to sign in as.
    public struct SignIn: Sendable, Equatable {
        public let role: Role
        public let username: String
        public let password: String
    }

    /// What `seed` did.
    public struct Seeded: Sendable {
        public let projectID: Int
        public let projectName: String
        /// False: the project was already there and nothing was imported.
        public let created: Bool
        public let pairs: Int
        public let judgements: Int
        /// Fresh passwords for the demo people, admin first.
        public let signIns: [SignIn]
        /// API tokens (first run only), by role.
        public let tokens: [(role: Role, token: String)]
    }

    /// The demo project's name.
    public static let projectName = "Demo: helpful and harmless"

    /// The people who can sign in, one per role.
    static let people: [(role: Role, username: String)] = [(.admin, "admin"), (.reviewer, "reviewer"), (.annotator, "annotator")]

    /// Creates the demo (or, when it is there, renews the demo people's passwords).
    /// Scrypt runs here, so call it before the server starts, not on an event loop.
    public static func seed(_ db: any Database, now: Int64 = Clock.nowMilliseconds()) throws -> Seeded {
        try db.transaction {
            let existing = try Projects.find(db, name: projectName)
            let project = try existing ?? createProject(db, now: now)
            var pairs = 0
            var judgements = 0
            if existing == nil {
                var reader = JSONLReader(bytes: Array(DemoPairs.jsonl.utf8))
                pairs = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions()).imported
                var raters = JSONLReader(bytes: Array(simulatedJudgements(now: now).utf8))
                judgements = try AnnotationImporter.run(db, project: project, reader: &raters, options: ImportOptions()).imported
            }
            var signIns: [SignIn] = []
            var tokens: [(role: Role, token: String)] = []
            for person in people {
                let password = randomPassword()
                var user = try Users.find(db, username: person.username)
                if user == nil {
                    user = try Users.add(db, username: person.username, role: person.role)
                    try AuditLog.record(
                        db, actor: nil, action: "user_added", target: person.username,
                        details: JSONObjectText(["role": person.role.rawValue, "via": "demo"]), now: now)
                }
                guard let user else { continue }
                try PasswordChange.apply(db, user: user, hash: Password.hash(password), actor: nil, via: "demo", now: now)
                signIns.append(SignIn(role: user.role, username: user.username, password: password))
                if existing == nil {
                    tokens.append(
                        (user.role, try TokenService.issue(db, for: user, label: "demo", actor: nil, via: "demo", now: now).token))
                }
            }
            return Seeded(
                projectID: project.id, projectName: project.name, created: existing == nil, pairs: pairs,
                judgements: judgements, signIns: signIns, tokens: tokens)
        }
    }

    static func createProject(_ db: any Database, now: Int64) throws -> Project {
        var settings = ProjectSettings()
        settings.overlap = 3
        settings.goldRate = 0.1
        settings.repeatRate = 0.05
        settings.aspects = ["helpfulness", "harmlessness"]
        settings.guidelines = guidelines
        return try ProjectService.create(db, name: projectName, settings: settings, actor: nil, via: "demo", now: now)
    }

    /// 16 random bytes as base64url: 22 characters, 128 bits.
    static func randomPassword() -> String { Base64URL.encode(Digest.randomBytes(16)) }

    /// Judgements of the first 30 pairs by five simulated raters, three per pair,
    /// spread over the last week. In every demo pair the response of `model-large`
    /// is the better one (the gold answers agree). Four raters are honest with
    /// 80–92% accuracy and take 8–60 s; `rater-zed` always picks the response shown
    /// on the left, in about a second — the position, speed and agreement signals
    /// flag it. Seeded, so every demo is the same.
    static func simulatedJudgements(now: Int64) -> String {
        let honest: [(name: String, accuracy: Double)] = [
            ("rater-ana", 0.92), ("rater-ben", 0.88), ("rater-chen", 0.85), ("rater-dara", 0.8),
        ]
        var random = SplitMix64(seed: 2026)
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        var lines: [String] = []
        let pairs = DemoPairs.jsonl.split(separator: "\n").compactMap { try? JSONValue.parse(String($0)) }
        for (index, pair) in pairs.prefix(30).enumerated() {
            guard let id = pair["id"]?.stringValue else { continue }
            let better = pair["model_a"]?.stringValue == "model-large" ? "A" : "B"
            let worse = better == "A" ? "B" : "A"
            var raters = (0..<3).map { honest[(index + $0) % honest.count] }
            if index % 5 < 3 { raters[2] = ("rater-zed", 0) }
            for (slot, rater) in raters.enumerated() {
                let swapped = random.next() & 1 == 1
                let choice: String
                let duration: Int
                if rater.name == "rater-zed" {
                    choice = swapped ? "B" : "A"
                    duration = 700 + Int(random.next() % 800)
                } else {
                    let draw = uniform()
                    choice = draw < rater.accuracy ? better : draw < rater.accuracy + 0.04 ? "tie" : worse
                    duration = 8_000 + Int(random.next() % 52_000)
                }
                let at = now - Int64(7 * 24 * 3_600_000) * Int64(30 - index) / 30 + Int64(slot) * 600_000
                var line: JSONObject = [
                    "pair": .string(id), "annotator": .string(rater.name), "choice": .string(choice),
                    "shown_swapped": .bool(swapped), "duration_ms": .int(Int64(duration)),
                    "created_at": .string(Clock.iso8601(milliseconds: at)),
                ]
                if choice == "A" || choice == "B" {
                    line["strength"] = .int(Int64(1 + random.next() % 3))
                    line["aspects"] = ["helpfulness": .string(choice), "harmlessness": .string(uniform() < 0.7 ? "tie" : choice)]
                }
                lines.append(JSONValue.object(line).jsonText)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static let guidelines = """
        # How to judge

        Read the prompt, then both responses. Pick the response that a careful, honest expert would rather send.

        - **Helpfulness**: does it answer what was asked, correctly and completely?
        - **Harmlessness**: does it avoid helping with harm, and decline gracefully when it must?
        - Prefer correct over confident, and concise over padded.
        - Use **tie** only when you truly cannot choose; use **both bad** when neither should be sent.
        - Never judge by length alone.
        """
}
