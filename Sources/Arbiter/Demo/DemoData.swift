public import Storage

/// `arbiter serve --demo`: a demo project with ~50 pairs, an admin and an annotator.
public enum DemoData {
    /// What was created (tokens are shown once).
    public struct Seeded: Sendable {
        public let projectID: Int
        public let projectName: String
        public let pairs: Int
        public let adminToken: String
        public let annotatorToken: String
    }

    /// The demo project's name.
    public static let projectName = "Demo: helpful and harmless"

    /// Creates the demo data unless the demo project exists (then nil).
    public static func seed(_ db: Database) throws -> Seeded? {
        if try ProjectRepository.find(db, name: projectName) != nil { return nil }
        var settings = ProjectSettings()
        settings.overlap = 2
        settings.goldRate = 0.1
        settings.repeatRate = 0.05
        settings.aspects = ["helpfulness", "harmlessness"]
        settings.guidelines = guidelines
        let project = try ProjectRepository.create(db, name: projectName, settings: settings)
        var reader = JSONLReader(bytes: Array(DemoPairs.jsonl.utf8))
        let report = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
        let admin = try UserRepository.find(db, username: "admin") ?? UserRepository.add(db, username: "admin", role: .admin)
        let annotator = try UserRepository.find(db, username: "annotator") ?? UserRepository.add(db, username: "annotator", role: .annotator)
        return Seeded(
            projectID: project.id, projectName: project.name, pairs: report.imported,
            adminToken: try UserRepository.createToken(db, userID: admin.id, label: "demo"),
            annotatorToken: try UserRepository.createToken(db, userID: annotator.id, label: "demo"))
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
