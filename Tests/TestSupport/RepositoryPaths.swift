/// Folders of this repository, found from this file's path (tests run from anywhere).
public enum RepositoryPaths {
    /// The checkout's root.
    public static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()

    /// SQLite's migrations.
    public static var migrations: String { root + "/Migrations" }
    /// PostgreSQL's migrations.
    public static var postgresMigrations: String { root + "/Migrations/postgres" }
}
