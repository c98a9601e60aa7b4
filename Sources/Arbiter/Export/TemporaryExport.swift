import Glibc

/// A private temporary directory for one streamed export, removed with everything
/// in it when the last reference goes — after the body is sent, when the client
/// left before it was, or when the export failed — so raw export data never stays
/// behind in the temporary directory.
final class TemporaryExport: Sendable {
    /// The directory (`ROOT/arbiter-export-XXXXXX`, mode 0700).
    let directory: String

    /// Creates `root/arbiter-export-XXXXXX`; nil when that is impossible.
    init?(root: String) {
        var template = Array((root + "/arbiter-export-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { return nil }
        directory = String(cString: made)
    }

    deinit {
        // Plain files only: the exporter writes the data and its manifest here.
        if let handle = opendir(directory) {
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink(directory + "/" + name) }
            }
            closedir(handle)
        }
        rmdir(directory)
    }

    /// The temporary directory: `$TMPDIR`, else `/tmp`.
    static var defaultRoot: String { getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp" }
}
