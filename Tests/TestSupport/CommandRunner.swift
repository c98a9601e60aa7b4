import CLinux
import Glibc

/// Runs the `arbiter` executable to completion and captures what it printed.
public enum CommandRunner {
    public struct Result: CustomStringConvertible {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
    }

    /// `arbiter arguments...`; stdout and stderr are captured (keep stderr small).
    public static func arbiter(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> Result {
        try run(ServerProcess.executablePath, arguments, stdin: stdin, environment: environment)
    }

    /// Runs any executable (a full path, or a name looked up in /usr/bin and /bin).
    /// `environment` is added to (and overrides) this process's.
    public static func run(
        _ executable: String, _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]
    ) throws -> Result {
        var out: [Int32] = [0, 0]
        var err: [Int32] = [0, 0]
        var input: [Int32] = [0, 0]
        // Close-on-exec: no other child started meanwhile (by a parallel test) inherits them.
        guard clinux_pipe_cloexec(&out) == 0, clinux_pipe_cloexec(&err) == 0, clinux_pipe_cloexec(&input) == 0 else {
            throw ServerProcess.Failure(description: "pipe failed")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_addclose(&actions, input[1])
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        posix_spawn_file_actions_addclose(&actions, out[0])
        posix_spawn_file_actions_addclose(&actions, err[0])
        // The originals of the dup2'ed ends too: a daemon the child starts (pg_ctl
        // starting postgres) would otherwise hold the pipes open, and reading to
        // the end would never end.
        for fd in [input[0], out[1], err[1]] where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        var path = executable
        if !path.hasPrefix("/") {
            path = ["/usr/bin/", "/bin/", "/usr/local/bin/"].map { $0 + executable }.first { access($0, X_OK) == 0 } ?? executable
        }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var inherited: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if !environment.keys.contains(where: { text.hasPrefix($0 + "=") }) { inherited.append(text) }
            entry += 1
        }
        let envp = (inherited + environment.map { "\($0.key)=\($0.value)" }).map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var child = pid_t()
        let spawned = posix_spawn(&child, path, &actions, nil, argv, envp)
        close(out[1])
        close(err[1])
        close(input[0])
        if let stdin {
            let bytes = Array(stdin.utf8)
            _ = bytes.withUnsafeBytes { write(input[1], $0.baseAddress, $0.count) }
        }
        close(input[1])
        defer {
            close(out[0])
            close(err[0])
        }
        guard spawned == 0 else { throw ServerProcess.Failure(description: "posix_spawn failed: \(spawned)") }
        let stdout = readAll(out[0])
        let stderr = readAll(err[0])
        var status: Int32 = 0
        waitpid(child, &status, 0)
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: code, stdout: stdout, stderr: stderr)
    }

    static func readAll(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
