import JSON

/// Entry points for the libFuzzer harnesses in `Benchmarks/fuzz` (SPI: not API).
@_spi(Fuzzing) public enum ImportFuzzEntry {
    /// A JSONL upload: every line through the pair parser (all formats, and
    /// multi-response sampling) and the annotation parser. Errors are fine; crashes are not.
    public static func jsonl(_ bytes: UnsafeBufferPointer<UInt8>) {
        var reader = JSONLReader(bytes: Array(bytes))
        let project = Project(id: 1, name: "fuzz", settings: ProjectSettings())
        let parsers = [PairLineParser(), PairLineParser(pairsPerPrompt: 2)]
        while let line = try? reader.nextLine() {
            for parser in parsers { _ = try? parser.parse(line) }
            _ = try? ImportedJudgement.parse(line, project: project)
        }
    }
}

@_spi(Fuzzing) public enum EscapingFuzzEntry {
    /// What goes out must come back: any JSON value re-parses equal to itself
    /// after writing; any text survives a TRL export line and a CSV field.
    public static func roundTrips(_ bytes: UnsafeBufferPointer<UInt8>) {
        if let value = try? JSONValue.parse(bytes) {
            let written = value.serialized()
            guard let again = try? JSONValue.parse(written) else { fatalError("written JSON does not parse: \(value)") }
            precondition(again == value, "JSON round trip changed \(value) into \(again)")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let line = Exporter.line(.trl, prompt: .text(text), chosen: text, rejected: "r", margin: nil)
        guard let row = try? JSONValue.parse(Array(line.dropLast())) else { fatalError("export line does not parse") }
        precondition(row["prompt"]?.stringValue == text && row["chosen"]?.stringValue == text, "export line changed the text")
        precondition(line.filter { $0 == 0x0A }.count == 1, "an export line holds exactly one newline")
        let field = Exporter.csvField(.string(text))
        precondition(csvUnquote(field) == text, "CSV field does not read back")
    }

    /// Reads one RFC 4180 field back.
    static func csvUnquote(_ field: String) -> String {
        guard field.hasPrefix("\"") else {
            precondition(!field.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }), "unquoted CSV field with a separator")
            return field
        }
        precondition(field.hasSuffix("\"") && field.count >= 2, "unterminated quoted CSV field")
        let inner = field.dropFirst().dropLast()
        var result = ""
        var index = inner.startIndex
        while index < inner.endIndex {
            let character = inner[index]
            if character == "\"" {
                let next = inner.index(after: index)
                precondition(next < inner.endIndex && inner[next] == "\"", "lone quote inside a quoted CSV field")
                result.append("\"")
                index = inner.index(after: next)
            } else {
                result.append(character)
                index = inner.index(after: index)
            }
        }
        return result
    }
}
