import COpenSSL
import Storage

/// Signs deliveries the Standard Webhooks way (standardwebhooks.com, "Signature
/// scheme"), so a receiver can verify them with any of that project's libraries:
///
/// > The content to sign is composed by concatenating the id, timestamp and
/// > payload, separated by the full-stop character (`.`) … signed with HMAC with
/// > SHA-256 … base64 encoded … prefixed with a version identifier (`v1,`).
///
/// The secret is `whsec_` followed by the base64 of the key bytes; the headers are
/// `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`.
public enum WebhookSignature {
    /// A new secret: `whsec_` + base64 of 24 random bytes (192 bits).
    public static func newSecret() -> String { "whsec_" + Base64.encode(Digest.randomBytes(24)) }

    /// The key bytes of a `whsec_…` secret; nil if it is not one.
    public static func key(_ secret: String) -> [UInt8]? {
        guard secret.hasPrefix("whsec_") else { return nil }
        return Base64.decode(String(secret.dropFirst(6)))
    }

    /// `v1,` + base64(HMAC-SHA256(key, "id.timestamp.body")).
    public static func sign(secret: String, id: String, timestamp: Int64, body: [UInt8]) -> String {
        let key = key(secret) ?? []
        let content = Array("\(id).\(timestamp).".utf8) + body
        var mac = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = key.withUnsafeBufferPointer { keyBytes in
            content.withUnsafeBufferPointer { contentBytes in
                HMAC(EVP_sha256(), keyBytes.baseAddress, Int32(keyBytes.count), contentBytes.baseAddress, contentBytes.count, &mac, &length)
            }
        }
        return "v1," + Base64.encode(Array(mac.prefix(Int(length))))
    }

    /// The three headers of one attempt.
    public static func headers(secret: String, id: String, timestamp: Int64, body: [UInt8]) -> [(name: String, value: String)] {
        [
            ("webhook-id", id), ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", sign(secret: secret, id: id, timestamp: timestamp, body: body)),
        ]
    }
}

/// Standard base64 with padding (RFC 4648 §4), through OpenSSL.
enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "" }
        var out = [UInt8](repeating: 0, count: (bytes.count + 2) / 3 * 4 + 1)
        let written = EVP_EncodeBlock(&out, bytes, Int32(bytes.count))
        return String(decoding: out.prefix(Int(written)), as: UTF8.self)
    }

    /// nil unless `text` is canonical padded base64.
    static func decode(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard !input.isEmpty, input.count % 4 == 0 else { return nil }
        var out = [UInt8](repeating: 0, count: input.count / 4 * 3)
        let written = EVP_DecodeBlock(&out, input, Int32(input.count))
        guard written >= 0 else { return nil }
        let padding = input.suffix(2).filter { $0 == UInt8(ascii: "=") }.count
        let bytes = Array(out.prefix(Int(written) - padding))
        return encode(bytes) == text ? bytes : nil
    }
}
