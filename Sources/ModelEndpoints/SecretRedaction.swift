/// Removes credentials from text an upstream server wrote (its error messages)
/// before the text is stored, logged or returned: an endpoint that answers 401
/// with "Incorrect API key provided: Bearer sk-…" must not put the key in a
/// generate report or the log.
///
/// ```swift
/// SecretRedaction.redact("bad key sk-abc123def456ghi", keys: ["sk-abc123def456ghi"])  // "bad key [redacted]"
/// ```
public enum SecretRedaction {
    static let mask = "[redacted]"

    /// `text` with each of `keys` (and any 8-character run of one), `Bearer …`
    /// tokens and `sk-…`-style keys replaced by `[redacted]`.
    public static func redact(_ text: String, keys: [String]) -> String {
        var result = text
        for key in keys where key.count >= 4 {
            result = result.replacing(key, with: mask)
            // Providers echo a key partly masked ("sk-abc1***********f456"): its visible runs go too.
            if key.count >= 16 {
                let characters = Array(key)
                for length in [12, 8] {
                    for start in stride(from: 0, through: characters.count - length, by: 1) {
                        let piece = String(characters[start..<(start + length)])
                        if result.contains(piece) { result = result.replacing(piece, with: mask) }
                    }
                }
            }
        }
        return redactPatterns(result)
    }

    /// `Bearer <token>` and words that look like API keys (`sk-`, `pk-`, `key-`,
    /// `hf_`, `xai-` followed by 8 or more key characters, `*` included).
    static func redactPatterns(_ text: String) -> String {
        var words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        var index = 0
        while index < words.count {
            let word = words[index]
            if word.lowercased() == "bearer", index + 1 < words.count, !words[index + 1].isEmpty {
                words[index + 1] = mask
            } else if looksLikeKey(word) {
                words[index] = mask
            }
            index += 1
        }
        return words.joined(separator: " ")
    }

    static func looksLikeKey(_ word: String) -> Bool {
        let trimmed = word.trimmingCharacters(in: ".,;:'\"()[]{}")
        let lower = trimmed.lowercased()
        for prefix in ["sk-", "pk-", "key-", "hf_", "xai-", "gsk_", "sk_"] where lower.hasPrefix(prefix) {
            let rest = trimmed.dropFirst(prefix.count)
            return rest.count >= 8 && rest.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "*" }
        }
        return false
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }

}
