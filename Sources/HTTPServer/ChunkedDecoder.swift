/// An incremental decoder for the chunked transfer coding (RFC 9112 §7.1):
///
/// ```
/// chunked-body = *chunk last-chunk trailer-section CRLF
/// chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
/// ```
///
/// Strict: bare LF, a missing size, a size longer than 15 hex digits, or data not
/// followed by CRLF is a 400; the decoded body may not pass `maxBodyBytes` (413);
/// chunk extensions and trailers are skipped within a byte budget (64 KiB).
struct ChunkedDecoder: Sendable {
    private enum State: Sendable {
        case size(value: Int, digits: Int)
        case extensions
        case sizeLF
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailerLineStart
        case trailerLine
        case trailerLF(empty: Bool)
        case done
    }

    private var state = State.size(value: 0, digits: 0)
    private var pendingSize = 0
    private var overheadBytes = 0
    private let maxBodyBytes: Int
    private let maxOverheadBytes: Int

    init(maxBodyBytes: Int, maxOverheadBytes: Int = 64 * 1024) {
        self.maxBodyBytes = maxBodyBytes
        self.maxOverheadBytes = maxOverheadBytes
    }

    /// Whether the last chunk and the trailer section have been read.
    var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// Decodes as much of `bytes` as belongs to this body, appending data to `body`.
    /// Returns how many bytes were consumed (less than `bytes.count` only when done).
    mutating func decode(_ bytes: UnsafeBufferPointer<UInt8>, into body: inout [UInt8]) throws(HTTPError) -> Int {
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            switch state {
            case .size(let value, let digits):
                if let digit = PercentDecoding.hexValue(byte) {
                    guard digits < 15 else { throw HTTPParser.malformed("chunk size too long") }
                    state = .size(value: value << 4 | Int(digit), digits: digits + 1)
                } else {
                    guard digits > 0 else { throw HTTPParser.malformed("missing chunk size") }
                    pendingSize = value
                    if byte == 0x0D {
                        state = .sizeLF
                    } else if byte == 0x3B || byte == 0x20 || byte == 0x09 {
                        state = .extensions
                    } else {
                        throw HTTPParser.malformed("invalid chunk size")
                    }
                }
                index += 1
            case .extensions:
                if byte == 0x0D {
                    state = .sizeLF
                } else if byte == 0x0A || byte < 0x20 && byte != 0x09 {
                    throw HTTPParser.malformed("invalid chunk extension")
                }
                index += 1
                try countOverhead(1)
            case .sizeLF:
                guard byte == 0x0A else { throw HTTPParser.malformed("chunk size line not ended by CRLF") }
                index += 1
                if pendingSize == 0 {
                    state = .trailerLineStart
                } else {
                    guard body.count + pendingSize <= maxBodyBytes else { throw tooLarge() }
                    state = .data(remaining: pendingSize)
                }
            case .data(let remaining):
                let take = min(remaining, count - index)
                body.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<(index + take)]))
                index += take
                state = take == remaining ? .dataCR : .data(remaining: remaining - take)
            case .dataCR:
                guard byte == 0x0D else { throw HTTPParser.malformed("chunk data not followed by CRLF") }
                index += 1
                state = .dataLF
            case .dataLF:
                guard byte == 0x0A else { throw HTTPParser.malformed("chunk data not followed by CRLF") }
                index += 1
                state = .size(value: 0, digits: 0)
            case .trailerLineStart:
                index += 1
                try countOverhead(1)
                if byte == 0x0D {
                    state = .trailerLF(empty: true)
                } else if byte == 0x0A {
                    throw HTTPParser.malformed("bare LF in trailer section")
                } else {
                    state = .trailerLine
                }
            case .trailerLine:
                index += 1
                try countOverhead(1)
                if byte == 0x0D {
                    state = .trailerLF(empty: false)
                } else if byte == 0x0A {
                    throw HTTPParser.malformed("bare LF in trailer section")
                }
            case .trailerLF(let empty):
                guard byte == 0x0A else { throw HTTPParser.malformed("trailer line not ended by CRLF") }
                index += 1
                if empty {
                    state = .done
                    return index
                }
                state = .trailerLineStart
            case .done:
                return index
            }
        }
        return index
    }

    private mutating func countOverhead(_ bytes: Int) throws(HTTPError) {
        overheadBytes += bytes
        if overheadBytes > maxOverheadBytes { throw HTTPParser.malformed("chunk framing too large") }
    }

    private func tooLarge() -> HTTPError {
        HTTPError(.contentTooLarge, code: "content_too_large", message: "request body larger than \(maxBodyBytes) bytes")
    }
}
