/// The text blocked words are matched against: what a reader would see, not the
/// code points that spell it. A word slipped past the list with an invisible
/// character, a fullwidth letter, a Cyrillic look-alike or odd spacing is still
/// the word.
///
/// What it folds: letter case; format characters (zero-width space and joiners,
/// soft hyphen, word joiner, byte-order mark: Unicode category Cf) removed;
/// fullwidth ASCII (U+FF01–FF5E) and the common Cyrillic and Greek look-alikes of
/// Latin letters folded to Latin; every kind of whitespace (no-break space,
/// newlines, tabs) read as one space. What it does not: accents (`pässword`),
/// digits for letters (`p4ssw0rd`), letters spaced apart, other scripts'
/// look-alikes beyond the table. It is a filter against slips, not a promise
/// against a determined sender — see docs/ARENA.md.
enum BlockedWordText {
    /// `text` as it is matched.
    static func normalise(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var lastWasSpace = false
        for scalar in text.lowercased().unicodeScalars {
            if scalar.properties.generalCategory == .format { continue }
            if scalar.properties.isWhitespace {
                if !lastWasSpace { out.append(" ") }
                lastWasSpace = true
                continue
            }
            lastWasSpace = false
            out.append(fold(scalar))
        }
        return String(out)
    }

    /// A scalar's Latin look: fullwidth ASCII and look-alike letters.
    static func fold(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        let value = scalar.value
        if (0xFF01...0xFF5E).contains(value), let ascii = Unicode.Scalar(value - 0xFEE0) {
            return String(ascii).lowercased().unicodeScalars.first ?? ascii
        }
        return lookAlikes[scalar] ?? scalar
    }

    /// Lower-case Cyrillic and Greek letters that look like Latin ones (after
    /// lower-casing, so capitals are covered too).
    static let lookAlikes: [Unicode.Scalar: Unicode.Scalar] = [
        // Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
        "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "һ": "h", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ɡ": "g",
        // Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
        "χ": "x", "ω": "w", "ζ": "z", "μ": "u",
    ]
}
