public import JSON

/// What an import did (or, refused, would have done).
public struct ImportReport: Sendable, Equatable {
    /// Non-empty lines read.
    public var lines = 0
    /// Rows written.
    public var imported = 0
    /// Rows already present (same id and content, or same content).
    public var duplicates = 0
    /// Bad lines: the first ``maxReportedErrors`` of them, `line N: what is wrong`.
    public var errors: [String] = []
    /// All bad lines, counted.
    public var errorCount = 0
    /// Whether anything was written (false when refused or a dry run).
    public var committed = false

    /// How many errors are listed.
    public static let maxReportedErrors = 20

    mutating func record(line: Int, _ message: String) {
        errorCount += 1
        if errors.count < Self.maxReportedErrors { errors.append("line \(line): \(message)") }
    }

    /// Adds the errors `other` found (its line numbers are already the file's).
    mutating func absorbErrors(of other: ImportReport) {
        errorCount += other.errorCount
        errors.append(contentsOf: other.errors.prefix(max(0, Self.maxReportedErrors - errors.count)))
    }

    /// The report as JSON for the API.
    public var json: JSONValue {
        [
            "lines": .int(Int64(lines)), "imported": .int(Int64(imported)), "duplicates": .int(Int64(duplicates)),
            "error_count": .int(Int64(errorCount)), "errors": .array(errors.map { .string($0) }), "committed": .bool(committed),
        ]
    }

    /// One line for the command line.
    public var summary: String {
        "\(imported) imported, \(duplicates) duplicates, \(errorCount) invalid, \(lines) lines"
    }
}

/// An import refused because of bad lines; nothing was written.
public struct ImportRefused: Error, CustomStringConvertible, Sendable {
    public let report: ImportReport
    public var description: String {
        var text = "import refused, nothing written: \(report.errorCount) invalid line\(report.errorCount == 1 ? "" : "s")"
        if let first = report.errors.first { text += "; \(first)" }
        return text
    }
}

/// How an import treats bad lines.
public struct ImportOptions: Sendable {
    /// Import the good lines and report the bad ones (default: refuse the whole file).
    public var skipInvalid = false
    /// Check everything, write nothing.
    public var dryRun = false
    /// Multi-response lines: how many pairs per prompt (nil: all).
    public var pairsPerPrompt: Int?
    /// Limits on pair contents.
    public var limits = PairLineParser.Limits()
    /// The project's kind: ranking and rating projects import a multi-response
    /// line as one task. Set from the project by the importers.
    public var taskKind = TaskKind.pairwise
    public init() {}
}
