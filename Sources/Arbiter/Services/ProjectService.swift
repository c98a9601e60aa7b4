public import JSON
public import Storage

/// Projects: create, change, list, the dashboard, and decisions about raters.
/// Every change is audited here, whatever the door (API, command line, demo).
///
/// Like every service, an instance over the store that owns its transactions;
/// the `static` functions taking a `Database` are the same rules for callers that
/// already hold a transaction (the demo seeding everything at once, the CLI).
public struct ProjectService: Sendable {
    let store: ArbiterStore

    public init(store: ArbiterStore) { self.store = store }

    /// Creates a project (a taken name is a ``ValidationError``) and audits it.
    public static func create(
        _ db: any Database, name: String, settings: ProjectSettings, actor: Int?, via: String, address: String = "", now: Int64
    ) throws -> Project {
        let project = try Projects.create(db, name: name, settings: settings)
        try AuditLog.record(
            db, actor: actor, action: "project_created", target: "project:\(project.id)",
            details: JSONObjectText(["name": project.name, "via": via]), address: address, now: now)
        return project
    }

    /// Applies `changes` (`name` and any settings by their JSON names) and audits
    /// which fields changed; returns the project as stored.
    public static func update(
        _ db: any Database, id: Int, changes: JSONObject, actor: Int?, address: String = "", now: Int64
    ) throws -> Project {
        if let unknown = changes.keys.first(where: { $0 != "name" && !ProjectSettings.fields.contains($0) }) {
            throw ValidationError("\(unknown): unknown field")
        }
        if let value = changes["name"], value.stringValue == nil { throw ValidationError("name: expected a string") }
        guard var project = try Projects.find(db, id: id) else { throw ServiceError.noSuchProject }
        try project.settings.apply(changes)
        project.name = changes["name"]?.stringValue ?? project.name
        try Projects.update(db, id: id, name: project.name, settings: project.settings)
        try AuditLog.record(
            db, actor: actor, action: "project_updated", target: "project:\(id)",
            details: JSONObjectText(["fields": changes.keys.sorted().joined(separator: ",")]), address: address, now: now)
        return try Projects.find(db, id: id) ?? project
    }

    /// Creates a project in a transaction of its own (the API's door).
    public func create(
        name: String, settings: ProjectSettings, actor: Int, via: String, address: String, now: Int64
    )
        async throws -> Project
    {
        try await store.pool.write { db in
            try Self.create(db, name: name, settings: settings, actor: actor, via: via, address: address, now: now)
        }
    }

    /// Applies `changes` in a transaction of its own (the API's door).
    public func update(
        id: Int, changes: JSONObject, actor: Int, address: String, now: Int64
    ) async throws -> Project {
        try await store.pool.write { db in try Self.update(db, id: id, changes: changes, actor: actor, address: address, now: now) }
    }

    /// One project, or ``ServiceError/notFound(_:)``.
    public func find(id: Int) async throws -> Project {
        guard let project = try await store.pool.read({ db in try Projects.find(db, id: id) }) else {
            throw ServiceError.noSuchProject
        }
        return project
    }

    /// The project as an annotator may see it: 404 unless it is open to them
    /// (a project that lists its members does not exist for anyone else).
    public func find(id: Int, annotator: Int) async throws -> Project {
        try await store.pool.read { db in
            guard let project = try Projects.find(db, id: id), try ProjectMembers.allows(db, projectID: id, userID: annotator)
            else {
                throw ServiceError.noSuchProject
            }
            return project
        }
    }

    /// Every project with its size.
    public func list() async throws -> [ProjectSummary] {
        try await store.pool.read { db in try Projects.list(db) }
    }

    /// The projects an annotator works on: open to them, and not finished (an arena
    /// never is) or holding a task of theirs (the last pair, leased to them).
    public func list(annotator: Int, now: Int64) async throws -> [ProjectSummary] {
        try await store.pool.read { db in
            let leased = try Assignments.projectsWithLiveLeases(db, userID: annotator, now: now)
            return try Projects.list(db).filter { summary in
                try ProjectMembers.allows(db, projectID: summary.project.id, userID: annotator)
                    && (summary.project.settings.arena != nil || leased.contains(summary.project.id)
                        || !ProjectMembers.finished(db, projectID: summary.project.id))
            }
        }
    }

    /// One rater's judgements with each pair and the other raters' votes on it
    /// (keyset pages by judgement id); `departures` keeps only those against the consensus.
    func raterJudgements(
        projectID: Int, username: String, departures: Bool, after: Int64, limit: Int
    ) async throws -> [RaterJudgements.Item] {
        try await store.pool.read { db in
            guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
            guard let rater = try Users.find(db, username: username) else { throw ServiceError.notFound("no such rater") }
            var items: [RaterJudgements.Item] = []
            var cursor = after
            // Departures are filtered after reading: read pages until enough are found or none are left.
            while items.count < limit {
                let page = try RaterJudgements.list(db, projectID: projectID, userID: rater.id, after: cursor, limit: limit)
                items += departures ? page.filter { $0.departs == true } : page
                guard page.count == limit, let last = page.last else { break }
                cursor = last.id
            }
            return Array(items.prefix(limit))
        }
    }

    /// Who the project is for: its listed annotators (none: everyone).
    public func members(projectID: Int) async throws -> [(id: Int, username: String)] {
        try await store.pool.read { db in
            guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
            return try ProjectMembers.list(db, projectID: projectID)
        }
    }

    /// Replaces who the project is for (an empty list: everyone); each name must
    /// be an annotator. Audited.
    public func setMembers(
        projectID: Int, usernames: [String], actor: Int, address: String, now: Int64
    ) async throws -> [(id: Int, username: String)] {
        guard usernames.count <= 10_000 else { throw ValidationError("usernames: at most 10000") }
        return try await store.pool.write { db in
            guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
            var ids: [Int] = []
            for name in usernames {
                guard let user = try Users.find(db, username: name) else {
                    throw ValidationError("usernames: no user named '\(name)'")
                }
                guard user.role == .annotator else {
                    throw ValidationError("usernames: '\(name)' is a \(user.role.rawValue); members are annotators")
                }
                ids.append(user.id)
            }
            try ProjectMembers.replace(db, projectID: projectID, userIDs: ids)
            let members = try ProjectMembers.list(db, projectID: projectID)
            try AuditLog.record(
                db, actor: actor, action: "project_members_set", target: "project:\(projectID)",
                details: JSONObjectText(["members": members.isEmpty ? "everyone" : members.map(\.username).joined(separator: ",")]),
                address: address, now: now)
            return members
        }
    }

    /// The project at a glance, one snapshot.
    public func dashboard(id: Int, now: Int64) async throws -> DashboardReport {
        try await store.pool.read { db in
            guard let project = try Projects.find(db, id: id) else { throw ServiceError.noSuchProject }
            return try Dashboard.report(db, project: project, now: now)
        }
    }

    /// What annotators reported about the project's pairs, newest first (500 at most).
    public func reports(projectID: Int, includeResolved: Bool) async throws -> [PairReport] {
        try await store.pool.read { db in
            guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
            return try PairReports.list(db, projectID: projectID, includeResolved: includeResolved, limit: 500)
        }
    }

    /// Marks an open report resolved; audited.
    public func resolveReport(reportID: Int, actor: Int, address: String, now: Int64) async throws {
        try await store.pool.write { db in
            guard let projectID = try PairReports.projectOf(db, reportID: reportID),
                try PairReports.resolve(db, projectID: projectID, reportID: reportID, by: actor, now: now)
            else { throw ServiceError.notFound("no open report with this id") }
            try AuditLog.record(db, actor: actor, action: "report_resolved", target: "report:\(reportID)", address: address, now: now)
        }
    }

    /// Quarantines, clears or resets a rater in a project, with a reason (required
    /// unless resetting); audited.
    public func setRaterStatus(
        projectID: Int, username: String, decision: RaterStatus.Decision, comment: String, actor: Int,
        address: String, now: Int64
    ) async throws {
        guard comment.utf8.count <= 2000 else { throw ValidationError("comment: at most 2000 bytes") }
        if decision != .ok && comment.trimmingWhitespace().isEmpty { throw ValidationError("comment: say why") }
        try await store.pool.write { db in
            guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
            guard let rater = try Users.find(db, username: username) else { throw ServiceError.notFound("no such rater") }
            try RaterStatus.set(db, projectID: projectID, userID: rater.id, decision: decision, comment: comment, by: actor, now: now)
            let action = decision == .quarantined ? "rater_quarantined" : decision == .cleared ? "rater_cleared" : "rater_status_reset"
            try AuditLog.record(
                db, actor: actor, action: action, target: "project:\(projectID)/\(rater.username)",
                details: JSONObjectText(["comment": comment]), address: address, now: now)
            if decision == .quarantined {
                try WebhookEvents.raterQuarantined(db, projectID: projectID, rater: rater.username, comment: comment, by: actor, now: now)
            }
        }
    }
}
