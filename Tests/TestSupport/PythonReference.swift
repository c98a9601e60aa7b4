import Glibc

/// The Python reference packages the tests compare against (`Tests/requirements.txt`),
/// installed on first use into a virtual environment under `.build/test-venv`.
///
/// Parallel tests (and parallel `swift test` processes) share one environment: the
/// first caller creates it under an exclusive `flock`, the others wait and reuse it.
/// A changed requirements file reinstalls. Without PyPI the caller gets one line
/// naming the package that could not be installed and the command that fixes it.
///
/// ```swift
/// let result = try PythonReference.run(["-c", "import krippendorff"])
/// let schemathesis = try PythonReference.tool("schemathesis")
/// ```
public enum PythonReference {
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// The package root (three levels above this file).
    public static let packageRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    static var environment: String { packageRoot + "/.build/test-venv" }
    static var requirements: String { packageRoot + "/Tests/requirements.txt" }
    static var fixCommand: String {
        "python3 -m venv .build/test-venv && .build/test-venv/bin/pip install -r Tests/requirements.txt"
    }

    /// Created once per test process; every later call returns the same outcome.
    private static let prepared: Result<String, Unavailable> = {
        do throws(Unavailable) { return .success(try prepare()) } catch { return .failure(error) }
    }()

    /// The environment's `python`, creating the environment if needed.
    public static func interpreter() throws -> String { try prepared.get() + "/bin/python" }

    /// A console script the requirements install (e.g. `schemathesis`).
    public static func tool(_ name: String) throws -> String { try prepared.get() + "/bin/" + name }

    /// Runs the environment's Python with `arguments`.
    public static func run(
        _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]
    ) throws
        -> CommandRunner.Result
    {
        try CommandRunner.run(interpreter(), arguments, stdin: stdin, environment: environment)
    }

    private static func prepare() throws(Unavailable) -> String {
        guard let wanted = read(requirements) else { throw Unavailable(description: "cannot read \(requirements)") }
        mkdir(packageRoot + "/.build", 0o755)
        let lock = open(packageRoot + "/.build/test-venv.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw Unavailable(description: "cannot open .build/test-venv.lock: errno \(errno)") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 && errno == EINTR {}
        let stamp = environment + "/requirements.installed"
        if read(stamp) == wanted, access(environment + "/bin/python", X_OK) == 0 { return environment }

        _ = try? CommandRunner.run("/bin/rm", ["-rf", environment])
        let created = try? CommandRunner.run("/usr/bin/env", ["python3", "-m", "venv", environment])
        guard let created, created.status == 0 else {
            throw Unavailable(
                description:
                    "cannot create .build/test-venv (python3 -m venv failed: \(created.map { lastLine($0.stderr) } ?? "no python3")); install python3 and python3-venv, then: \(fixCommand)"
            )
        }
        let install = try? CommandRunner.run(
            environment + "/bin/pip",
            [
                "install", "--quiet", "--disable-pip-version-check", "--retries", "2", "--timeout", "20", "-r", requirements,
            ])
        guard let install, install.status == 0 else {
            let package = install.flatMap { failedRequirement($0.stderr) } ?? "the packages in Tests/requirements.txt"
            throw Unavailable(description: "cannot install \(package) from PyPI into .build/test-venv; fix: \(fixCommand)")
        }
        write(stamp, wanted)
        return environment
    }

    /// The requirement pip names in "... for the requirement X" / "No matching distribution found for X".
    static func failedRequirement(_ output: String) -> String? {
        for marker in ["found for ", "the requirement "] {
            for line in output.split(separator: "\n").reversed() {
                if let range = line.firstRange(of: marker) {
                    let rest = line[range.upperBound...].prefix { $0 != " " && $0 != ")" }
                    if !rest.isEmpty { return String(rest) }
                }
            }
        }
        return nil
    }

    static func lastLine(_ text: String) -> String {
        String(text.split(separator: "\n").last ?? "")
    }

    static func read(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func write(_ path: String, _ text: String) {
        guard let file = fopen(path, "wb") else { return }
        _ = text.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count - 1, file) }
        fclose(file)
    }
}
