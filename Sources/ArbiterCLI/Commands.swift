import Arbiter
import Storage
import Glibc

/// Helpers shared by the commands.
enum Commands {
    /// Opens and migrates the database, runs `body`, closes it.
    static func withDatabase<T>(_ options: DatabaseOptions, _ body: (any Database) throws -> T) throws -> T {
        let migrations = try Locations.migrationsDirectory(options.migrationsDir)
        let db = try ArbiterStore.openConnection(options.location, migrationsRoot: migrations)
        return try body(db)
    }

    static func printError(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

/// Unbuffered standard output, so that lines reach a pipe at once (a server
/// prints its demo tokens and then runs for hours).
enum Output {
    static func line(_ text: String) { write(text, to: 1) }

    /// A line on stderr that does not stop the command (a line left out).
    static func warning(_ text: String) { write(text, to: 2) }

    /// Progress for a person watching: on stderr, and only when it is a terminal
    /// (scripts get one line on stderr for an error, nothing else).
    static func progress(_ text: String) {
        guard isatty(2) == 1 else { return }
        write(text, to: 2)
    }

    private static func write(_ text: String, to fd: Int32) {
        let bytes = Array((text + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }
}
