import Glibc
import ArgumentParser
import Arbiter
import HTTPServer
import Storage
import Logging
import CLinux

/// `arbiter serve`: runs the HTTP server until SIGTERM/SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the web server.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind (0 picks a free one).")
    var port = 8080

    @Option(name: .customLong("public-dir"), help: "Directory of the web UI (default: ./Public or next to the executable).")
    var publicDir: String?

    @Flag(help: "Seed a demo project with simulated judgements and one person per role; prints the URL, sign-ins and API tokens.")
    var demo = false

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve HTTPS (with --tls-key).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(
        name: .customLong("trusted-proxy"),
        help: "A reverse proxy (address or CIDR, repeatable) whose X-Forwarded-For and X-Forwarded-Proto are believed.")
    var trustedProxies: [String] = []

    @Option(
        name: .customLong("max-connections-per-address"),
        help: "Most open connections from one client address (default 256; trusted proxies exempt).")
    var maxConnectionsPerAddress: Int?

    @Option(
        name: .customLong("models-dir"),
        help:
            "Where export jobs keep their files and reward models (default: DB.models/ beside a SQLite file, ./arbiter.models with PostgreSQL; shared storage on several nodes)."
    )
    var modelsDir: String?

    @Option(
        name: .customLong("endpoints-file"),
        help: "Model endpoints arena projects may battle with ({\"endpoints\":[...]}; keys stay in this file or the environment).")
    var endpointsFile: String?

    @Option(name: .customLong("db-connections"), help: "Connections to PostgreSQL this node opens (default 8); SQLite ignores it.")
    var databaseConnections: Int?

    @Option(help: "Event loop threads (default: one per core).")
    var threads: Int?

    @Flag(
        name: .customLong("webhooks-refuse-private-addresses"),
        help: "Never send webhooks to loopback, private or link-local addresses (checked on the address connected to).")
    var webhooksRefusePrivateAddresses = false

    @Option(name: .customLong("oidc-issuer"), help: "Single sign-on: the OpenID Connect issuer URL (its discovery document is read).")
    var oidcIssuer: String?

    @Option(name: .customLong("oidc-client-id"), help: "Single sign-on: this server's client id at the provider.")
    var oidcClientID: String?

    @Option(
        name: .customLong("oidc-client-secret-env"),
        help: "Single sign-on: the environment variable that holds the client secret (never on the command line).")
    var oidcClientSecretEnv: String?

    @Option(
        name: .customLong("public-url"),
        help: "This server's URL as browsers reach it (https://arbiter.example); the OIDC redirect URI is it + /auth/oidc/callback.")
    var publicURL: String?

    @Option(name: .customLong("oidc-role-claim"), help: "Single sign-on: the claim mapped to roles (default groups).")
    var oidcRoleClaim = "groups"

    @Option(name: .customLong("oidc-admin-values"), help: "Single sign-on: comma-separated claim values that make an admin.")
    var oidcAdminValues: String?

    @Option(name: .customLong("oidc-reviewer-values"), help: "Single sign-on: comma-separated claim values that make a reviewer.")
    var oidcReviewerValues: String?

    @Flag(name: .customLong("oidc-invited-only"), help: "Single sign-on: only people an admin added (username = their email) may sign in.")
    var oidcInvitedOnly = false

    @Flag(name: .customLong("no-password-sign-in"), help: "Turn password sign-in off (with --oidc-issuer; API tokens keep working).")
    var noPasswordSignIn = false

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("log-format"), help: "text or json (one JSON object per line).")
    var logFormat: String = "text"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ArgumentParser.ValidationError("--port must be between 0 and 65535") }
        if let maxConnectionsPerAddress, !(1...1_000_000).contains(maxConnectionsPerAddress) {
            throw ArgumentParser.ValidationError("--max-connections-per-address must be between 1 and 1000000")
        }
        if let databaseConnections, !(1...1000).contains(databaseConnections) {
            throw ArgumentParser.ValidationError("--db-connections must be between 1 and 1000")
        }
        if let threads, !(1...256).contains(threads) { throw ArgumentParser.ValidationError("--threads must be between 1 and 256") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ArgumentParser.ValidationError("--tls-cert and --tls-key go together") }
        for proxy in trustedProxies {
            do { _ = try IPRange(proxy) } catch { throw ArgumentParser.ValidationError("--trusted-proxy \(error)") }
        }
        let oidc = [oidcIssuer, oidcClientID, oidcClientSecretEnv].filter { $0 != nil }.count
        guard oidc == 0 || oidc == 3 else {
            throw ArgumentParser.ValidationError("--oidc-issuer, --oidc-client-id and --oidc-client-secret-env go together")
        }
        if oidc == 3 {
            guard let publicURL, publicURL.hasPrefix("https://") || publicURL.hasPrefix("http://") else {
                throw ArgumentParser.ValidationError("--oidc-issuer needs --public-url (http:// or https://), the address browsers use")
            }
            guard let variable = oidcClientSecretEnv, let value = getenv(variable), value.pointee != 0 else {
                throw ArgumentParser.ValidationError(
                    "--oidc-client-secret-env: the environment variable \(oidcClientSecretEnv ?? "") is not set")
            }
        }
        if noPasswordSignIn, oidc == 0 { throw ArgumentParser.ValidationError("--no-password-sign-in needs --oidc-issuer") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ArgumentParser.ValidationError("--log-level: unknown level '\(logLevel)'")
        }
        guard BufferedLogHandler.Format(rawValue: logFormat) != nil else {
            throw ArgumentParser.ValidationError("--log-format must be text or json")
        }
    }

    func run() async throws {
        clinux_server_malloc_policy()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = BufferedLogHandler(
                label: label, sink: .standardError, format: BufferedLogHandler.Format(rawValue: logFormat) ?? .text)
            handler.logLevel = level
            return handler
        }
        var configuration = App.Configuration()
        configuration.http.host = host
        configuration.http.port = port
        if let threads { configuration.http.eventLoops = threads }
        if let maxConnectionsPerAddress { configuration.http.maxConnectionsPerAddress = maxConnectionsPerAddress }
        configuration.http.trustedProxies = trustedProxies.compactMap { try? IPRange($0) }
        configuration.publicDirectory = publicDir
        configuration.database = database.db
        configuration.migrationsDirectory = database.migrationsDir
        if let databaseConnections { configuration.databaseConnections = databaseConnections }
        configuration.modelsDirectory = modelsDir
        if let endpointsFile { configuration.models = try GenerateCommand.endpoints(file: endpointsFile) }
        if let tlsCert, let tlsKey { configuration.tls = (tlsCert, tlsKey) }
        configuration.webhooks.refusePrivateAddresses = webhooksRefusePrivateAddresses
        if let oidcIssuer, let oidcClientID, let variable = oidcClientSecretEnv, let secret = getenv(variable), let publicURL {
            var sso = SingleSignOn.Configuration(
                issuer: oidcIssuer, clientID: oidcClientID, clientSecret: String(cString: secret),
                publicURL: String(publicURL.reversed().drop { $0 == "/" }.reversed()))
            sso.roleClaim = oidcRoleClaim
            sso.adminValues = (oidcAdminValues ?? "").split(separator: ",").map(String.init)
            sso.reviewerValues = (oidcReviewerValues ?? "").split(separator: ",").map(String.init)
            sso.invitedOnly = oidcInvitedOnly
            configuration.singleSignOn = sso
        }
        configuration.passwordSignIn = !noPasswordSignIn
        defer { BufferedLogHandler.Sink.standardError.flush() }
        do {
            let app = try App(configuration: configuration, logger: Logger(label: "arbiter"))
            let seeded = demo ? try await app.store.pool.exclusive { db in try DemoData.seed(db) } : nil
            try await app.run { port in
                guard let seeded else { return }
                for line in Self.demoLines(seeded, url: Self.url(host: host, port: port, tls: tlsCert != nil)) { Output.line(line) }
            }
        } catch {
            throw CLIError(message: "\(error)")
        }
    }

    /// The address a browser on this machine opens: a wildcard bind is reached as localhost.
    static func url(host: String, port: Int, tls: Bool) -> String {
        let name =
            ["0.0.0.0", "::", "[::]", ""].contains(host) ? "localhost" : host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(tls ? "https" : "http")://\(name):\(port)/"
    }

    /// What `--demo` prints once the server listens (a contract: scripts read
    /// `open URL` and `sign-in: ROLE USERNAME PASSWORD`).
    static func demoLines(_ seeded: DemoData.Seeded, url: String) -> [String] {
        var lines = [
            seeded.created
                ? "demo: created project '\(seeded.projectName)' (id \(seeded.projectID)): \(seeded.pairs) pairs, \(seeded.judgements) judgements from 5 simulated raters"
                : "demo: project '\(seeded.projectName)' (id \(seeded.projectID)) was already here; nothing imported, new passwords below (the old ones no longer work)",
            "open \(url)",
        ]
        lines += seeded.signIns.map { "sign-in: \($0.role.rawValue) \($0.username) \($0.password)" }
        lines += seeded.tokens.map { "\($0.role.rawValue) token: \($0.token)" }
        if !seeded.tokens.isEmpty {
            lines.append("passwords and tokens are shown once; `arbiter user passwd` and `arbiter token create` make new ones")
        }
        return lines
    }
}
