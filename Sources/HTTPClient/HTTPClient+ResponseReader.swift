import HTTPCore
extension HTTPClient {
    /// Reads an answer from the bytes as they come: the head (at most 64 KiB),
    /// then the body, chunked or by length, bounded; `onBody` gets each decoded piece.
    struct ResponseReader {
        let origin: String
        let maxBodyBytes: Int
        private var buffer: [UInt8] = []
        private(set) var head: Head?
        private var chunked = false
        private var remaining: Int?
        private var decoder: ChunkedDecoder
        private var received = 0

        enum Progress { case more, done }

        init(origin: String, maxBodyBytes: Int) {
            self.origin = origin
            self.maxBodyBytes = maxBodyBytes
            decoder = ChunkedDecoder(maxBodyBytes: maxBodyBytes)
        }

        /// Takes the next bytes read; `.done` once the body is complete or `onBody` said stop.
        mutating func feed(_ bytes: [UInt8], onHead: (Head) throws -> Void, onBody: ([UInt8]) throws -> Bool) throws -> Progress {
            var rest = bytes
            if head == nil {
                buffer += bytes
                guard let end = HTTPClient.headEnd(buffer) else {
                    if buffer.count > 64 * 1024 { throw HTTPClientError.malformedResponse("\(origin) sent a header section over 64 KiB") }
                    return .more
                }
                let parsed = try HTTPClient.parseHead(Array(buffer[..<end]), describe: origin)
                head = parsed
                try onHead(parsed)
                rest = Array(buffer[(end + 4)...])
                buffer = []
                chunked = parsed.headers["transfer-encoding"]?.lowercased().contains("chunked") == true
                remaining = chunked ? nil : parsed.headers["content-length"].flatMap { Int($0.trimmingSpaces) }
                if !chunked, let length = remaining, length > maxBodyBytes {
                    throw HTTPClientError.malformedResponse("\(origin) announced a body of \(length) bytes, over the limit")
                }
            }
            if !rest.isEmpty {
                var piece: [UInt8] = []
                if chunked {
                    do {
                        _ = try rest.withUnsafeBufferPointer { bytes throws(HTTPError) in try decoder.decode(bytes, into: &piece) }
                    } catch {
                        throw HTTPClientError.malformedResponse("\(origin) sent a malformed chunked body")
                    }
                } else {
                    piece = remaining.map { Array(rest.prefix($0 - received)) } ?? rest
                }
                received += piece.count
                if received > maxBodyBytes { throw HTTPClientError.malformedResponse("\(origin) sent a body over the limit") }
                if !piece.isEmpty, try !onBody(piece) { return .done }
            }
            return (chunked ? decoder.isDone : remaining.map { received >= $0 } ?? false) ? .done : .more
        }

        /// The connection ended: the end of a body without a length, else too early.
        func atEnd() throws(HTTPClientError) {
            guard head != nil else { throw .malformedResponse("\(origin) closed the connection before a complete answer") }
            guard !chunked && remaining == nil else {
                throw .malformedResponse("\(origin) closed the connection in the middle of the body")
            }
        }
    }
}
