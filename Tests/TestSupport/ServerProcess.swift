public import Glibc
import CLinux

/// Runs the real `arbiter` executable (built next to the test bundle) in its own
/// process, e.g. `arbiter serve --port 0`, and finds the port it bound.
public final class ServerProcess {
    public let pid: Int32  // pid_t; spelled out, since CLinux re-exports pid_t internally
    public private(set) var port = 0
    private let stderrFD: Int32
    public private(set) var output = ""

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// The `arbiter` binary beside the running test bundle.
    public static var executablePath: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        var path = String(decoding: buffer[0..<max(0, length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // .../debug/arbiterPackageTests.xctest → .../debug/arbiter
        while let slash = path.lastIndex(of: "/") {
            path = String(path[..<slash])
            if access(path + "/arbiter", X_OK) == 0 { return path + "/arbiter" }
        }
        return "arbiter"
    }

    /// Starts `arbiter` with `arguments`; for `serve`, waits for its listening line.
    public convenience init(_ arguments: [String], waitForPort: Bool = true) throws {
        try self.init(executable: Self.executablePath, arguments, waitForPort: waitForPort)
    }

    /// Starts any executable; with `waitForPort`, waits for an arbiter-style listening line.
    public init(executable: String, _ arguments: [String], waitForPort: Bool = false) throws {
        var pipeFDs: [Int32] = [0, 0]
        // Close-on-exec: no other child started meanwhile (by a parallel test) inherits them.
        guard clinux_pipe_cloexec(&pipeFDs) == 0 else { throw Failure(description: "pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        // stdout and stderr both go to the pipe, in order (like `2>&1`).
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
        posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
        defer { posix_spawn_file_actions_destroy(&actions) }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child = pid_t()
        let result = posix_spawn(&child, executable, &actions, nil, argv, environ)
        close(pipeFDs[1])
        guard result == 0 else {
            close(pipeFDs[0])
            throw Failure(description: "posix_spawn failed: \(result)")
        }
        pid = child
        stderrFD = pipeFDs[0]
        if waitForPort {
            while port == 0 {
                guard let line = readLine() else { throw Failure(description: "server exited: \(output)") }
                // Text logs say `port=N`; JSON logs `"port":"N"`.
                let parts =
                    line.contains("port=")
                    ? line.split(separator: "port=", maxSplits: 1) : line.split(separator: "\"port\":\"", maxSplits: 1)
                if line.contains("listening"), parts.count == 2 {
                    port = Int(parts[1].prefix { $0.isNumber }) ?? 0
                }
            }
        }
    }

    deinit {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(stderrFD)
    }

    /// Reads one line of the child's output (nil at end of file, or after 60 s of
    /// silence, so that a test never hangs on a stuck child).
    public func readLine() -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            var poller = pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 60_000) > 0, read(stderrFD, &byte, 1) == 1 else { break }
            if byte == 0x0A {
                let text = String(decoding: line, as: UTF8.self)
                output += text + "\n"
                return text
            }
            line.append(byte)
        }
        if line.isEmpty { return nil }
        let text = String(decoding: line, as: UTF8.self)
        output += text
        return text
    }

    /// Reads output until a line matches (lines already read count too); throws
    /// if the process ends or falls silent first.
    @discardableResult
    public func waitForLine(_ matches: (String) -> Bool) throws -> String {
        if let seen = output.split(separator: "\n").map(String.init).first(where: matches) { return seen }
        while let line = readLine() {
            if matches(line) { return line }
        }
        throw Failure(description: "no such line; output was: \(output)")
    }

    /// Reads stderr to the end and waits for the exit status.
    public func waitForExit() -> Int32 {
        while readLine() != nil {}
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Sends a signal.
    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// Resident memory in KiB (from /proc).
    public var residentKiB: Int {
        guard let file = fopen("/proc/\(pid)/status", "r") else { return 0 }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        while fgets(&buffer, 256, file) != nil {
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if line.hasPrefix("VmRSS:") { return Int(line.filter(\.isNumber)) ?? 0 }
        }
        return 0
    }
}
