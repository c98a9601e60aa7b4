import JSON

extension DatasetAudit {
    /// Reads a file's lines into labelled pairs, the one way `arbiter audit --input`
    /// and `POST /api/dataset-audits` do it: a blank line is skipped, a line that is
    /// no labelled pair is left out and listed (``Unreadable``) — or, `strict`,
    /// refuses the file at that line — and HH-RLHF transcripts that part before the
    /// last assistant turn are counted (audited on what they share).
    public struct Reading: Sendable {
        public let strict: Bool
        public private(set) var pairs: [Pair] = []
        public private(set) var unreadable: [Unreadable] = []
        public private(set) var divergingTranscripts = 0

        public init(strict: Bool) { self.strict = strict }

        /// Adds line `number` (1-based). Throws only when `strict`, naming the line.
        public mutating func add(_ bytes: ArraySlice<UInt8>, line number: Int) throws(ValidationError) {
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
            do throws(ValidationError) {
                let value: JSONValue
                do {
                    value = try bytes.withUnsafeBufferPointer { buffer throws(JSONError) in try JSONValue.parse(buffer) }
                } catch {
                    throw ValidationError("invalid JSON: \(error)")
                }
                guard let object = value.objectValue else { throw ValidationError("expected a JSON object") }
                var diverged = false
                pairs.append(try DatasetAudit.pair(object, line: number, diverged: &diverged))
                if diverged { divergingTranscripts += 1 }
            } catch {
                if strict { throw ValidationError("line \(number): \(error.message)") }
                unreadable.append(Unreadable(line: number, reason: error.message))
            }
        }

        /// Every line of a JSONL body (an upload), `\n`-separated.
        public mutating func add(body: [UInt8]) throws(ValidationError) {
            var start = 0
            var number = 0
            while start < body.count {
                let end = body[start...].firstIndex(of: 0x0A) ?? body.count
                number += 1
                try add(body[start..<end], line: number)
                start = end + 1
            }
        }

        /// Why there is nothing to audit, or nil: fewer than
        /// ``DatasetAuditService/minimumPairs`` labelled pairs.
        public var tooFew: String? {
            guard pairs.count < DatasetAuditService.minimumPairs else { return nil }
            let left =
                unreadable.isEmpty
                ? "" : " (\(unreadable.count) lines unreadable, the first at line \(unreadable[0].line): \(unreadable[0].reason))"
            return "\(pairs.count) labelled pairs\(left); an audit needs at least \(DatasetAuditService.minimumPairs)"
        }

        /// The audit of what was read.
        public func run() -> Report {
            var report = DatasetAudit.run(pairs)
            report.unreadable = unreadable
            report.divergingTranscripts = divergingTranscripts
            return report
        }
    }
}
