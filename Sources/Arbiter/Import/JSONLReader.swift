import Glibc

/// Reads JSON Lines from a file or from memory, one line at a time, with its
/// 1-based number, in constant memory (a 1 MiB buffer plus the longest line).
public struct JSONLReader {
    /// A source of bytes.
    enum Source {
        case file(UnsafeMutablePointer<FILE>)
        case memory([UInt8])
    }

    private var source: Source
    private var buffer: [UInt8] = []
    private var start = 0
    private var memoryOffset = 0
    private var atEnd = false
    /// The number of the line last returned.
    public private(set) var lineNumber = 0
    /// Lines longer than this are an error (they would have to be held whole).
    public let maxLineBytes: Int

    /// A line too long to read.
    public struct LineTooLong: Error, CustomStringConvertible {
        public let line: Int
        public let limit: Int
        public var description: String { "line \(line): longer than \(limit) bytes" }
    }

    /// Reads a file; throws if it cannot be opened.
    public init(path: String, maxLineBytes: Int = 8 * 1024 * 1024) throws(ValidationError) {
        guard let file = fopen(path, "rb") else {
            throw ValidationError("\(path): \(String(cString: strerror(errno)))")
        }
        source = .file(file)
        self.maxLineBytes = maxLineBytes
    }

    /// Reads bytes in memory (an HTTP body).
    public init(bytes: [UInt8], maxLineBytes: Int = 8 * 1024 * 1024) {
        source = .memory(bytes)
        self.maxLineBytes = maxLineBytes
    }

    /// Closes the file, if any.
    public mutating func close() {
        if case .file(let file) = source { fclose(file) }
        source = .memory([])
    }

    /// The next line without its `\n` / `\r\n` (empty lines included), or nil at the end.
    public mutating func nextLine() throws(LineTooLong) -> ArraySlice<UInt8>? {
        if case .memory(let bytes) = source {
            guard memoryOffset < bytes.count else { return nil }
            let end = bytes[memoryOffset...].firstIndex(of: 0x0A) ?? bytes.count
            var line = bytes[memoryOffset..<end]
            memoryOffset = end + 1
            lineNumber += 1
            if line.last == 0x0D { line = line.dropLast() }
            if line.count > maxLineBytes { throw LineTooLong(line: lineNumber, limit: maxLineBytes) }
            return line
        }
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                var line = buffer[start..<newline]
                start = newline + 1
                lineNumber += 1
                if line.last == 0x0D { line = line.dropLast() }
                return line
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                var line = buffer[start...]
                start = buffer.count
                lineNumber += 1
                if line.last == 0x0D { line = line.dropLast() }
                return line
            }
            if buffer.count - start > maxLineBytes { throw LineTooLong(line: lineNumber + 1, limit: maxLineBytes) }
            fill()
        }
    }

    private mutating func fill() {
        guard case .file(let file) = source else {
            atEnd = true
            return
        }
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        let chunk = 1 << 20
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        let read = buffer.withUnsafeMutableBytes { fread($0.baseAddress! + old, 1, chunk, file) }
        buffer.removeLast(chunk - read)
        if read == 0 { atEnd = true }
    }
}
