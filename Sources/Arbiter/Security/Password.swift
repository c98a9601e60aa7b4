import COpenSSL
import Storage

/// Password hashing with scrypt through OpenSSL (`EVP_PBE_scrypt`).
///
/// Stored as `scrypt$N$r$p$salt$hash` (salt and hash in base64url), so the cost
/// can be raised later: old hashes keep verifying with their own parameters.
public enum Password {
    /// Current parameters: N = 2^15, r = 8, p = 1 (≈ 32 MiB, tens of ms).
    public static let n: UInt64 = 1 << 15
    public static let r: UInt64 = 8
    public static let p: UInt64 = 1
    /// Shortest password accepted.
    public static let minimumLength = 10
    /// Longest password accepted (bytes), so hashing cost stays bounded.
    public static let maximumLength = 1024

    /// Checks a new password's length.
    public static func validate(_ password: String) throws(ValidationError) {
        guard password.count >= minimumLength else { throw ValidationError("password: at least \(minimumLength) characters") }
        guard password.utf8.count <= maximumLength else { throw ValidationError("password: at most \(maximumLength) bytes") }
    }

    /// A new hash with a fresh 16-byte random salt.
    public static func hash(_ password: String) throws -> String {
        let salt = Digest.randomBytes(16)
        let key = try derive(password, salt: salt, n: n, r: r, p: p)
        return "scrypt$\(n)$\(r)$\(p)$\(Base64URL.encode(salt))$\(Base64URL.encode(key))"
    }

    /// Whether `password` matches `stored` (constant-time comparison).
    public static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt",
            let n = UInt64(parts[1]), let r = UInt64(parts[2]), let p = UInt64(parts[3]),
            n >= 2, n <= 1 << 20, r >= 1, r <= 32, p >= 1, p <= 16,
            let salt = Base64URL.decode(String(parts[4])), let expected = Base64URL.decode(String(parts[5])), expected.count == 32,
            password.utf8.count <= maximumLength,
            let key = try? derive(password, salt: salt, n: n, r: r, p: p)
        else { return false }
        return key.withUnsafeBytes { a in expected.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, 32) == 0 } }
    }

    /// A hash that matches nothing, to spend the same time when a user does not exist.
    public static let decoy: String = (try? hash("decoy-password-that-matches-nothing")) ?? "scrypt$32768$8$1$AAAA$AAAA"

    static func derive(_ password: String, salt: [UInt8], n: UInt64, r: UInt64, p: UInt64) throws -> [UInt8] {
        var key = [UInt8](repeating: 0, count: 32)
        let bytes = Array(password.utf8)
        let maxMemory = 128 * n * r * p + 1024 * 1024 * 2
        let ok = bytes.withUnsafeBufferPointer { passwordBuffer in
            salt.withUnsafeBufferPointer { saltBuffer in
                passwordBuffer.withMemoryRebound(to: CChar.self) { passwordChars in
                    EVP_PBE_scrypt(passwordChars.baseAddress, bytes.count, saltBuffer.baseAddress, salt.count, n, r, p, maxMemory, &key, 32)
                }
            }
        }
        guard ok == 1 else { throw ValidationError("password hashing failed") }
        return key
    }
}

extension Base64URL {
    /// Decodes unpadded base64url; nil if malformed.
    static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(byte - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(byte - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(byte - 48 + 52)
            case UInt8(ascii: "-"): values.append(62)
            case UInt8(ascii: "_"): values.append(63)
            default: return nil
            }
        }
        if values.count % 4 == 1 { return nil }
        var out: [UInt8] = []
        var index = 0
        while index + 4 <= values.count {
            let v =
                UInt32(values[index]) << 18 | UInt32(values[index + 1]) << 12 | UInt32(values[index + 2]) << 6 | UInt32(values[index + 3])
            out += [UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)]
            index += 4
        }
        let rest = values.count - index
        if rest == 2 {
            let v = UInt32(values[index]) << 18 | UInt32(values[index + 1]) << 12
            out.append(UInt8(v >> 16 & 255))
        } else if rest == 3 {
            let v = UInt32(values[index]) << 18 | UInt32(values[index + 1]) << 12 | UInt32(values[index + 2]) << 6
            out += [UInt8(v >> 16 & 255), UInt8(v >> 8 & 255)]
        }
        return out
    }
}
