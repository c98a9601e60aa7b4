import Glibc

/// Reads a whole UTF-8 text file (migrations, guidelines).
public enum TextFile {
    /// The file's text, or nil if it cannot be read or is not valid UTF-8.
    public static func read(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
