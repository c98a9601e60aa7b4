public import Storage

/// Creating projects and API tokens with their audit rows, whatever the door: the
/// API and the command line call these, so both audit alike.
public enum Creation {
    /// Creates a project (a taken name is a ``ValidationError``) and audits it.
    public static func project(
        _ db: any Database, name: String, settings: ProjectSettings, actor: Int?, via: String, address: String = "", now: Int64
    ) throws -> Project {
        let project = try ProjectRepository.create(db, name: name, settings: settings)
        try Audit.record(db, actor: actor, action: "project_created", target: "project:\(project.id)",
                         details: JSONObjectText(["name": project.name, "via": via]), address: address, now: now)
        return project
    }

    /// Creates an API token for `user` and audits it; returns its id and the token (shown once).
    public static func token(
        _ db: any Database, for user: User, label: String, actor: Int?, via: String, address: String = "", now: Int64
    ) throws -> (id: Int64, token: String) {
        let (id, token) = try UserRepository.createToken(db, userID: user.id, label: label)
        try Audit.record(db, actor: actor, action: "token_created", target: "token:\(id)",
                         details: JSONObjectText(["username": user.username, "label": label, "via": via]), address: address, now: now)
        return (id, token)
    }
}
