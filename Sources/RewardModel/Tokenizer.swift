/// Unicode-aware words: lower-cased runs of letters and digits (combining marks
/// stay inside the word they follow). ASCII text takes a byte-level fast path.
public enum Tokenizer {
    /// Calls `body` with each word's lower-cased UTF-8 bytes, in order.
    public static func forEachWord(in text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var text = text
        var word: [UInt8] = []
        word.reserveCapacity(64)
        func flush() {
            guard !word.isEmpty else { return }
            word.withUnsafeBufferPointer(body)
            word.removeAll(keepingCapacity: true)
        }
        let ascii = text.withUTF8 { bytes in
            for byte in bytes {
                switch byte {
                case 0x30...0x39, 0x61...0x7A: word.append(byte)
                case 0x41...0x5A: word.append(byte | 0x20)
                case 0x80...: return false
                default: flush()
                }
            }
            return true
        }
        guard !ascii else { return flush() }
        word.removeAll(keepingCapacity: true)
        for scalar in text.unicodeScalars {
            let properties = scalar.properties
            if properties.isAlphabetic || properties.numericType != nil || (!word.isEmpty && isMark(properties.generalCategory)) {
                if properties.changesWhenLowercased {
                    word.append(contentsOf: properties.lowercaseMapping.utf8)
                } else {
                    UTF8.encode(scalar) { word.append($0) }
                }
            } else {
                flush()
            }
        }
        flush()
    }

    /// The words of `text`, lower-cased.
    public static func words(_ text: String) -> [String] {
        var words: [String] = []
        forEachWord(in: text) { words.append(String(decoding: $0, as: UTF8.self)) }
        return words
    }

    static func isMark(_ category: Unicode.GeneralCategory) -> Bool {
        category == .nonspacingMark || category == .spacingMark || category == .enclosingMark
    }
}
