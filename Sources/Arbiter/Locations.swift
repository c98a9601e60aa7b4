import Glibc
import HTTPServer

/// Finds `Public/` and `Migrations/`: an explicit path wins; else next to the
/// working directory; else next to the executable or one of its ancestors
/// (`.build/release/arbiter` → the package root).
public enum Locations {
    /// A directory that could not be found.
    public struct NotFound: Error, CustomStringConvertible {
        public let description: String
    }

    /// The UI directory to serve.
    public static func publicDirectory(_ explicit: String?) throws -> String {
        try find("Public", explicit: explicit, option: "--public-dir")
    }

    /// The migrations directory.
    public static func migrationsDirectory(_ explicit: String?) throws -> String {
        try find("Migrations", explicit: explicit, option: "--migrations-dir")
    }

    static func find(_ name: String, explicit: String?, option: String) throws -> String {
        if let explicit {
            guard isDirectory(explicit) else { throw NotFound(description: "\(option) \(explicit): no such directory") }
            return explicit
        }
        if isDirectory(name) { return name }
        var directory = executableDirectory()
        while let current = directory, current != "/" {
            if isDirectory(current + "/" + name) { return current + "/" + name }
            directory = parent(of: current)
        }
        throw NotFound(description: "cannot find the \(name)/ directory; run from the project root or pass \(option)")
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func executableDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let path = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return parent(of: path)
    }

    static func parent(of path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
