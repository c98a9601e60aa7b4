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

    @Flag(help: "Seed a demo project, an admin and an annotator (tokens printed once).")
    var demo = false

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve HTTPS (with --tls-key).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(help: "Event loop threads (default: one per core).")
    var threads: Int?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("log-format"), help: "text or json (one JSON object per line).")
    var logFormat: String = "text"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ArgumentParser.ValidationError("--port must be between 0 and 65535") }
        if let threads, !(1...256).contains(threads) { throw ArgumentParser.ValidationError("--threads must be between 1 and 256") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ArgumentParser.ValidationError("--tls-cert and --tls-key go together") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ArgumentParser.ValidationError("--tls-cert and --tls-key go together") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ArgumentParser.ValidationError("--log-level: unknown level '\(logLevel)'") }
        guard BufferedLogHandler.Format(rawValue: logFormat) != nil else { throw ArgumentParser.ValidationError("--log-format must be text or json") }
    }

    func run() async throws {
        clinux_server_malloc_policy()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = BufferedLogHandler(label: label, sink: .standardError, format: BufferedLogHandler.Format(rawValue: logFormat) ?? .text)
            handler.logLevel = level
            return handler
        }
        var configuration = App.Configuration()
        configuration.http.host = host
        configuration.http.port = port
        if let threads { configuration.http.eventLoops = threads }
        configuration.publicDirectory = publicDir
        configuration.databasePath = database.db
        configuration.migrationsDirectory = database.migrationsDir
        if let tlsCert, let tlsKey { configuration.tls = (tlsCert, tlsKey) }
        defer { BufferedLogHandler.Sink.standardError.flush() }
        do {
            let app = try App(configuration: configuration, logger: Logger(label: "arbiter"))
            if demo {
                let seeded = try await app.store.pool.exclusive { db in try DemoData.seed(db) }
                if let seeded {
                    Output.line("demo project '\(seeded.projectName)' (id \(seeded.projectID)) with \(seeded.pairs) pairs")
                    Output.line("admin token:     \(seeded.adminToken)")
                    Output.line("annotator token: \(seeded.annotatorToken)")
                    Output.line("these tokens are shown once; `arbiter token create --username admin` makes another")
                } else {
                    Output.line("demo project already present; `arbiter token create --username annotator` makes a token")
                }
            }
            try await app.run()
        } catch {
            throw CLIError(message: "\(error)")
        }
    }
}
