import ArgumentParser
import Arbiter
import HTTPServer
import Logging

/// `arbiter serve`: runs the HTTP server until SIGTERM/SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the web server.")

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind (0 picks a free one).")
    var port = 8080

    @Option(name: .customLong("public-dir"), help: "Directory of the web UI (default: ./Public or next to the executable).")
    var publicDir: String?

    @Option(help: "Event loop threads (default: one per core).")
    var threads: Int?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be between 1 and 256") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level '\(logLevel)'") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = BufferedLogHandler(label: label, sink: .standardError)
            handler.logLevel = level
            return handler
        }
        var configuration = App.Configuration()
        configuration.http.host = host
        configuration.http.port = port
        if let threads { configuration.http.eventLoops = threads }
        configuration.publicDirectory = publicDir
        do {
            let app = try App(configuration: configuration, logger: Logger(label: "arbiter"))
            try await app.run()
            BufferedLogHandler.Sink.standardError.flush()
        } catch {
            BufferedLogHandler.Sink.standardError.flush()
            throw CLIError(message: "\(error)")
        }
    }
}

/// A failure reported as one line on stderr with a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
