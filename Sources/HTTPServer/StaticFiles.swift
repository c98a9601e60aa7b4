import CLinux
import Glibc
import Synchronization

/// Serves the files under one root directory (`Public/`) with content types,
/// `ETag` / `If-None-Match` → 304 and `Cache-Control: no-cache` (always revalidate,
/// so a deploy shows at once while unchanged files cost one 304).
///
/// No request can reach outside the root: the path is percent-decoded once and
/// refused if it holds NUL, a backslash, an encoded slash, a `.` or `..` segment
/// or a dot-file; the resolved real path (symlinks followed) must lie under the
/// root's real path.
public final class StaticFiles: Sendable {
    /// The root's real path.
    public let root: String
    /// Files up to this size are kept in memory (validated by `stat` on each hit).
    public let maxCachedFileBytes: Int
    private let cache = Mutex<[String: Entry]>([:])
    private let maxCacheEntries = 4096

    struct Entry: Sendable {
        let realPath: String
        let device: UInt64
        let inode: UInt64
        let size: Int
        let modified: Int
        let etag: String
        let contentType: String
        let bytes: [UInt8]
    }

    /// Opens a root directory. Throws if it does not exist.
    public init(root: String, maxCachedFileBytes: Int = 4 * 1024 * 1024) throws(SocketError) {
        guard let real = realpath(root, nil) else {
            throw SocketError.failed(call: "realpath(\(root))", errno: errno)
        }
        self.root = String(cString: real)
        free(real)
        self.maxCachedFileBytes = maxCachedFileBytes
    }

    /// The response for a GET/HEAD of `path` (raw, percent-encoded), or nil when no
    /// such file is served.
    public func response(path: String, headers: HTTPHeaders) -> Response? {
        guard let relative = Self.safeRelativePath(path) else { return nil }
        guard let entry = lookup(relative) else { return nil }
        if let ifNoneMatch = headers["if-none-match"], Self.matches(ifNoneMatch, etag: entry.etag) {
            return Response(status: .notModified, headers: ["ETag": entry.etag, "Cache-Control": "no-cache"])
        }
        return Response(
            status: .ok,
            headers: ["Content-Type": entry.contentType, "ETag": entry.etag, "Cache-Control": "no-cache"],
            body: .bytes(entry.bytes)
        )
    }

    /// The decoded path relative to the root, or nil if it is not a safe one.
    static func safeRelativePath(_ path: String) -> String? {
        let raw = path.utf8
        // Encoded slashes and backslashes would let a segment check be bypassed.
        let lowered = path.lowercased()
        if lowered.contains("%2f") || lowered.contains("%5c") { return nil }
        guard raw.first == UInt8(ascii: "/"), let decoded = PercentDecoding.decode(path) else { return nil }
        var segments: [Substring] = []
        for segment in decoded.split(separator: "/", omittingEmptySubsequences: true) {
            if segment.hasPrefix(".") { return nil }  // ".", "..", ".git", ".env"
            if segment.utf8.contains(where: { $0 == 0 || $0 == UInt8(ascii: "\\") || $0 < 0x20 }) { return nil }
            segments.append(segment)
        }
        if decoded.hasSuffix("/") || segments.isEmpty { segments.append("index.html") }
        return segments.joined(separator: "/")
    }

    private func lookup(_ relative: String) -> Entry? {
        let full = root + "/" + relative
        var info = stat()
        guard stat(full, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let modified = Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec)
        if let cached = cache.withLock({ $0[relative] }),
            cached.device == UInt64(info.st_dev), cached.inode == UInt64(info.st_ino),
            cached.size == Int(info.st_size), cached.modified == modified
        {
            return cached
        }
        // Resolve symlinks and make sure the file is inside the root.
        guard let realPointer = realpath(full, nil) else { return nil }
        let real = String(cString: realPointer)
        free(realPointer)
        guard real.hasPrefix(root + "/") else { return nil }
        guard let bytes = Self.read(real, expectedSize: Int(info.st_size)) else { return nil }
        let etag =
            "\"" + String(UInt64(info.st_ino), radix: 16) + "-" + String(bytes.count, radix: 16) + "-"
            + String(modified, radix: 16) + "\""
        let entry = Entry(
            realPath: real, device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: bytes.count,
            modified: modified, etag: etag, contentType: Self.contentType(for: relative), bytes: bytes
        )
        if bytes.count <= maxCachedFileBytes {
            cache.withLock { cache in
                if cache.count >= maxCacheEntries { cache.removeAll(keepingCapacity: true) }
                cache[relative] = entry
            }
        }
        return entry
    }

    private static func read(_ path: String, expectedSize: Int) -> [UInt8]? {
        let fd = clinux_open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: max(expectedSize, 0))
        var filled = 0
        while filled < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            filled += n
        }
        return filled == bytes.count ? bytes : Array(bytes[..<filled])
    }

    static func matches(_ ifNoneMatch: String, etag: String) -> Bool {
        for candidate in ifNoneMatch.split(separator: ",") {
            var tag = candidate.trimmingSpaces()
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
            if tag == etag { return true }
        }
        return false
    }

    /// The `Content-Type` for a file name.
    public static func contentType(for path: String) -> String {
        let ext = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "html", "htm": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "json", "map": return "application/json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "webp": return "image/webp"
        case "ico": return "image/x-icon"
        case "woff2": return "font/woff2"
        case "woff": return "font/woff"
        case "txt", "md": return "text/plain; charset=utf-8"
        case "jsonl": return "application/x-ndjson"
        case "wasm": return "application/wasm"
        default: return "application/octet-stream"
        }
    }
}
