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
public struct ChunkedDecoder: Sendable {
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

    public init(maxBodyBytes: Int, maxOverheadBytes: Int = 64 * 1024) {
        self.maxBodyBytes = maxBodyBytes
        self.maxOverheadBytes = maxOverheadBytes
    }

    /// Whether the last chunk and the trailer section have been read.
    public var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// Decodes as much of `bytes` as belongs to this body, appending data to `body`.
    /// Returns how many bytes were consumed (less than `bytes.count` only when done).
    public mutating func decode(_ bytes: UnsafeBufferPointer<UInt8>, into body: inout [UInt8]) throws(HTTPError) -> Int {
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            switch state {
            case .size(let value, let digits):
                if let digit = Self.hexValue(byte) {
                    guard digits < 15 else { throw Self.malformed("chunk size too long") }
                    state = .size(value: value << 4 | Int(digit), digits: digits + 1)
                } else {
                    guard digits > 0 else { throw Self.malformed("missing chunk size") }
                    pendingSize = value
                    if byte == 0x0D {
                        state = .sizeLF
                    } else if byte == 0x3B || byte == 0x20 || byte == 0x09 {
                        state = .extensions
                    } else {
                        throw Self.malformed("invalid chunk size")
                    }
                }
                index += 1
            case .extensions:
                if byte == 0x0D {
                    state = .sizeLF
                } else if byte == 0x0A || byte < 0x20 && byte != 0x09 {
                    throw Self.malformed("invalid chunk extension")
                }
                index += 1
                try countOverhead(1)
            case .sizeLF:
                guard byte == 0x0A else { throw Self.malformed("chunk size line not ended by CRLF") }
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
                guard byte == 0x0D else { throw Self.malformed("chunk data not followed by CRLF") }
                index += 1
                state = .dataLF
            case .dataLF:
                guard byte == 0x0A else { throw Self.malformed("chunk data not followed by CRLF") }
                index += 1
                state = .size(value: 0, digits: 0)
            case .trailerLineStart:
                index += 1
                try countOverhead(1)
                if byte == 0x0D {
                    state = .trailerLF(empty: true)
                } else if byte == 0x0A {
                    throw Self.malformed("bare LF in trailer section")
                } else {
                    state = .trailerLine
                }
            case .trailerLine:
                index += 1
                try countOverhead(1)
                if byte == 0x0D {
                    state = .trailerLF(empty: false)
                } else if byte == 0x0A {
                    throw Self.malformed("bare LF in trailer section")
                }
            case .trailerLF(let empty):
                guard byte == 0x0A else { throw Self.malformed("trailer line not ended by CRLF") }
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
        if overheadBytes > maxOverheadBytes { throw Self.malformed("chunk framing too large") }
    }

    private func tooLarge() -> HTTPError {
        HTTPError(.contentTooLarge, code: "content_too_large", message: "request body larger than \(maxBodyBytes) bytes")
    }

    static func malformed(_ message: String) -> HTTPError { HTTPError(.badRequest, code: "bad_request", message: message) }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
