import Glibc
public import HTTPServer
import Logging

/// Boots a real ``Server`` on 127.0.0.1 port 0 for one test.
public struct TestServer: Sendable {
    public let server: Server
    public var port: Int { server.port }

    /// Starts a server with `router`; tweak its configuration with `configure`.
    public init(router: Router, configure: (inout Server.Configuration) -> Void = { _ in }) throws {
        var configuration = Server.Configuration()
        configuration.port = 0
        configuration.eventLoops = 2
        configuration.accessLog = false
        configure(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        server = Server(configuration: configuration, router: router, logger: logger)
        try server.start()
    }

    /// A new raw client connected to this server.
    public func client(timeout: Int = 10) throws -> RawClient { try RawClient(port: port, timeout: timeout) }

    /// Graceful shutdown; waits for the loops to stop.
    public func stop() async { await server.shutdown() }
}

/// A temporary directory, removed when the value goes away (or by `remove()`).
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init() {
        var template = Array("/tmp/arbiter-test-XXXXXX".utf8CString)
        let pointer = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: pointer!)
    }

    /// Writes a file (creating parent directories).
    public func write(_ relative: String, _ contents: String) {
        let full = path + "/" + relative
        var parent = ""
        for component in relative.split(separator: "/").dropLast() {
            parent += "/" + component
            mkdir(path + parent, 0o755)
        }
        let file = fopen(full, "w")!
        fputs(contents, file)
        fclose(file)
    }

    deinit { remove() }

    public func remove() {
        _ = system("rm -rf '\(path)'")
    }
}
