import Glibc
import Synchronization

/// A throw-away PostgreSQL for one test suite: `initdb` into a temporary
/// directory and `postgres` on a free port of 127.0.0.1, from Debian's `postgresql`
/// package, the way the browser tests start Chromium. As root (CI), both run as
/// the `postgres` user (PostgreSQL refuses to run as root). Without the package,
/// suites using it are skipped with ``unavailableReason``.
public final class PostgresServer: @unchecked Sendable {
    // @unchecked Sendable: immutable after init; the process handle is only signalled.
    /// `postgres://arbiter@127.0.0.1:PORT/postgres`.
    public let url: String
    public let port: Int
    private let directory: String

    /// Why PostgreSQL tests cannot run here, if they cannot.
    public static let unavailableReason: String? =
        binaries == nil
        ? "needs PostgreSQL: apt-get install postgresql (initdb and postgres not found)" : nil
    public static var available: Bool { unavailableReason == nil }

    /// The directory with `initdb` and `postgres`: Debian's newest, else the PATH's.
    static let binaries: String? = {
        var candidates: [String] = []
        if let versions = opendir("/usr/lib/postgresql") {
            var names: [String] = []
            while let entry = readdir(versions) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if let number = Int(name) { names.append(String(number)) }
            }
            closedir(versions)
            candidates += names.sorted { Int($0)! > Int($1)! }.map { "/usr/lib/postgresql/\($0)/bin" }
        }
        candidates += ["/usr/local/bin", "/usr/bin"]
        return candidates.first { access($0 + "/initdb", X_OK) == 0 && access($0 + "/postgres", X_OK) == 0 }
    }()

    /// Creates the cluster and starts the server; returns once it accepts connections.
    public init() throws {
        guard let bin = Self.binaries else { throw ServerProcess.Failure(description: Self.unavailableReason ?? "") }
        var template = Array("/tmp/arbiter-pg-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ServerProcess.Failure(description: "mkdtemp failed")
        }
        directory = String(cString: made)
        // PostgreSQL refuses root: run as the package's `postgres` user.
        if geteuid() == 0 {
            guard let user = getpwnam("postgres") else { throw ServerProcess.Failure(description: "running as root and no postgres user") }
            chown(directory, user.pointee.pw_uid, user.pointee.pw_gid)
            prefix = ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
        } else {
            prefix = []
        }
        self.bin = bin
        let created = try Self.run(
            prefix,
            [
                bin + "/initdb", "-D", directory + "/data", "-U", "arbiter", "-A", "trust", "-E", "UTF8",
                "--no-sync", "--no-instructions",
            ])
        guard created.status == 0 else { throw ServerProcess.Failure(description: "initdb failed: \(created)") }
        port = WebDriver.freePort()
        url = "postgres://arbiter@127.0.0.1:\(port)/postgres"
        // Stops the server and removes its files once this test process is gone,
        // even if it crashed (a shared server has no deinit).
        let stop = "'\(bin)/pg_ctl' stop -D '\(directory)/data' -m immediate >/dev/null 2>&1; rm -rf '\(directory)'"
        let (shell, arguments) = Self.command(prefix, ["/bin/sh", "-c", "while [ -d /proc/\(getpid()) ]; do sleep 1; done; \(stop)"])
        watchdog = try ServerProcess(executable: shell, arguments)
        try start()
    }

    private let bin: String
    private let prefix: [String]
    private let watchdog: ServerProcess

    static func command(_ prefix: [String], _ arguments: [String]) -> (String, [String]) {
        prefix.isEmpty ? (arguments[0], Array(arguments.dropFirst())) : (prefix[0], Array(prefix.dropFirst()) + arguments)
    }

    static func run(_ prefix: [String], _ arguments: [String]) throws -> CommandRunner.Result {
        let (executable, rest) = command(prefix, arguments)
        return try CommandRunner.run(executable, rest)
    }

    /// Starts the server (again), waiting until it accepts connections. Its log
    /// goes to a file, so it never blocks on a full pipe.
    public func start() throws {
        let options = [
            "-p \(port)", "-k \(directory)", "-c listen_addresses=127.0.0.1", "-c fsync=off", "-c full_page_writes=off",
            "-c max_connections=1000", "-c shared_buffers=64MB", "-c synchronous_commit=off",
        ].joined(separator: " ")
        let started = try Self.run(
            prefix, [bin + "/pg_ctl", "start", "-w", "-t", "60", "-D", directory + "/data", "-l", directory + "/log", "-o", options])
        guard started.status == 0 else { throw ServerProcess.Failure(description: "pg_ctl start failed: \(started)") }
    }

    /// Stops the server (`fast`: sessions are ended, open transactions rolled back), keeping its data.
    public func stop() throws {
        let stopped = try Self.run(prefix, [bin + "/pg_ctl", "stop", "-w", "-D", directory + "/data", "-m", "fast"])
        guard stopped.status == 0 else { throw ServerProcess.Failure(description: "pg_ctl stop failed: \(stopped)") }
    }

    /// One server for the whole test process, started on first use (nil with the
    /// reason when it cannot start).
    public static let shared: Result<PostgresServer, ServerProcess.Failure> = {
        do { return .success(try PostgresServer()) } catch let error as ServerProcess.Failure { return .failure(error) } catch {
            return .failure(ServerProcess.Failure(description: "\(error)"))
        }
    }()

    private static let counter = Atomic<Int>(0)

    /// A fresh database on the shared server: its URL. With `template` (the name
    /// of a database no one is connected to), a copy of it — a migrated template
    /// copies in a fraction of the time the migrations take.
    public static func freshDatabase(template: String? = nil) throws -> String {
        let server = try shared.get()
        return try server.database("t\(getpid())_\(counter.add(1, ordering: .relaxed).newValue)", template: template)
    }

    /// The name of a database on this server, from its URL.
    public static func name(of url: String) -> String { String(url.split(separator: "/").last ?? "") }

    /// A fresh database on this server, for one test: its URL.
    public func database(_ name: String, template: String? = nil) throws -> String {
        let copy = template.map { " TEMPLATE \"\($0)\"" } ?? ""
        let result = try CommandRunner.run(
            "psql",
            [
                "-h", "127.0.0.1", "-p", String(port), "-U", "arbiter", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                "-c", "CREATE DATABASE \"\(name)\"\(copy)",
            ])
        guard result.status == 0 else { throw ServerProcess.Failure(description: "createdb failed: \(result)") }
        return "postgres://arbiter@127.0.0.1:\(port)/\(name)"
    }

    deinit {
        _ = try? Self.run(prefix, [bin + "/pg_ctl", "stop", "-D", directory + "/data", "-m", "immediate"])
        watchdog.signal(SIGKILL)
        _ = watchdog.waitForExit()
        _ = try? CommandRunner.run("rm", ["-rf", directory])
    }
}
