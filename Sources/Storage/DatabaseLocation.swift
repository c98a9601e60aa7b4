/// Which database `--db` names: a SQLite file (any path, the default engine) or a
/// PostgreSQL server (`postgres://user[:password]@host[:port]/dbname[?options]`,
/// also `postgresql://`).
///
/// ```swift
/// DatabaseLocation("arbiter.sqlite")                          // .sqlite(path: "arbiter.sqlite")
/// DatabaseLocation("postgres://arbiter@db:5432/arbiter")      // .postgres(url: …)
/// ```
public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    public init(_ text: String) {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(url: text)
        } else {
            self = .sqlite(path: text)
        }
    }

    /// The migrations for this engine inside `Migrations/`: the directory itself
    /// for SQLite, `postgres/` for PostgreSQL.
    public func migrations(in root: String) -> String {
        switch self {
        case .sqlite: return root
        case .postgres: return root + "/postgres"
        }
    }

    /// For logs and messages: a PostgreSQL URL's password is replaced by `***`.
    public var description: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let url): return Self.redacted(url)
        }
    }

    static func redacted(_ url: String) -> String {
        // scheme://user:password@host… → scheme://user:***@host…
        var text = url
        if let schemeEnd = text.firstIndex(of: "/").map({ text.index($0, offsetBy: 2, limitedBy: text.endIndex) ?? text.endIndex }),
            let at = text[schemeEnd...].firstIndex(of: "@"), let colon = text[schemeEnd..<at].firstIndex(of: ":")
        {
            text = String(text[...colon]) + "***" + String(text[at...])
        }
        // …?password=secret&… → …?password=***&…
        guard let query = text.firstIndex(of: "?") else { return text }
        let pairs = text[text.index(after: query)...].split(separator: "&", omittingEmptySubsequences: false).map { pair in
            pair.hasPrefix("password=") ? "password=***" : String(pair)
        }
        return String(text[...query]) + pairs.joined(separator: "&")
    }
}
