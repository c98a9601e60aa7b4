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
            // Numbers compare as numbers: 38e01 is written 380 and read back as an integer.
            precondition(sameJSON(again, value), "JSON round trip changed \(value) into \(again)")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let line = ExportFormat.trl.preferenceLine(prompt: .text(text), chosen: text, rejected: "r", margin: nil)
        guard let row = try? JSONValue.parse(Array(line.dropLast())) else { fatalError("export line does not parse") }
        precondition(row["prompt"]?.stringValue == text && row["chosen"]?.stringValue == text, "export line changed the text")
        precondition(line.filter { $0 == 0x0A }.count == 1, "an export line holds exactly one newline")
        let field = ExportFormat.csvField(.string(text))
        precondition(csvUnquote(field) == text, "CSV field does not read back")
    }

    /// Equal as JSON data: numbers by value (int or double), containers member by member.
    static func sameJSON(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { sameJSON($0, $1) }
        case (.object(let x), .object(let y)):
            let left = Array(x)
            let right = Array(y)
            return left.count == right.count && zip(left, right).allSatisfy { $0.key == $1.key && sameJSON($0.value, $1.value) }
        default: return a == b
        }
    }

    /// Reads one RFC 4180 field back, scalar by scalar (as a CSV reader sees it).
    static func csvUnquote(_ field: String) -> String {
        let scalars = Array(field.unicodeScalars)
        guard scalars.first == "\"" else {
            precondition(!scalars.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }, "unquoted CSV field with a separator")
            return field
        }
        precondition(scalars.count >= 2 && scalars.last == "\"", "unterminated quoted CSV field")
        var result = String.UnicodeScalarView()
        var index = 1
        while index < scalars.count - 1 {
            if scalars[index] == "\"" {
                precondition(index + 1 < scalars.count - 1 && scalars[index + 1] == "\"", "lone quote inside a quoted CSV field")
                result.append("\"")
                index += 2
            } else {
                result.append(scalars[index])
                index += 1
            }
        }
        return String(result)
    }
}
