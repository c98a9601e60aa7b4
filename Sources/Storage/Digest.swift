import COpenSSL
import Glibc

/// SHA-256 through OpenSSL's libcrypto.
public enum Digest {
    /// The 32-byte SHA-256 of `bytes`.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        bytes.withUnsafeBytes { input in
            _ = EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        return digest
    }

    /// SHA-256 of a string's UTF-8.
    public static func sha256(_ text: String) -> [UInt8] { sha256(Array(text.utf8)) }

    /// Lower-case hex.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `count` cryptographically random bytes (OpenSSL `RAND_bytes`).
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let ok = RAND_bytes(&bytes, Int32(count))
        precondition(ok == 1, "RAND_bytes failed")
        return bytes
    }
}

/// SHA-256 over data that arrives in pieces (an export as it is written).
public final class SHA256Stream {
    private let context: OpaquePointer

    public init() {
        context = EVP_MD_CTX_new()
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
    }

    /// The digest as lower-case hex (call once).
    public func finish() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return Digest.hex(digest)
    }
}

/// A buffered file writer that hashes what it writes.
public final class HashingFileWriter {
    private let file: UnsafeMutablePointer<FILE>
    private let hash = SHA256Stream()
    private var buffer: [UInt8] = []
    public private(set) var bytesWritten = 0
    public let path: String

    /// Creates (truncating) `path`.
    public init(path: String) throws(FileError) {
        guard let file = fopen(path, "wb") else { throw FileError("\(path): \(String(cString: strerror(errno)))") }
        self.file = file
        self.path = path
        buffer.reserveCapacity(1 << 16)
    }

    public func write(_ bytes: [UInt8]) throws(FileError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { try flush() }
    }

    public func write(_ text: String) throws(FileError) { try write(Array(text.utf8)) }

    private func flush() throws(FileError) {
        guard !buffer.isEmpty else { return }
        hash.update(buffer)
        let written = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard written == buffer.count else { throw FileError("\(path): write failed") }
        bytesWritten += written
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, closes and returns the file's SHA-256 (hex).
    public func close() throws(FileError) -> String {
        try flush()
        guard fclose(file) == 0 else { throw FileError("\(path): close failed") }
        return hash.finish()
    }
}

/// A file that could not be written, in one line.
public struct FileError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
