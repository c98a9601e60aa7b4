import Threads
import CLinux
import Glibc
import HTTPServer
public import Logging
import JSON
import Synchronization

/// A swift-log handler that writes lines to a file descriptor (stderr by default)
/// through a shared buffer: one `write` per ~100 ms or 64 KiB instead of one per
/// line, so a log line per request stays cheap. Warnings and worse go out at once.
///
/// ```swift
/// LoggingSystem.bootstrap { label in BufferedLogHandler(label: label, sink: .standardError) }
/// ```
public struct BufferedLogHandler: LogHandler {
    /// Where the lines go; one per process.
    public final class Sink: Sendable {
        let fd: Int32
        private let buffer = Mutex<[UInt8]>([])
        private let flushThreshold = 64 * 1024
        /// Held while writing, so that flushes from two threads keep their order.
        private let writeOrder = Mutex<Void>(())

        /// stderr, flushed every 100 ms by a background thread.
        public static let standardError = Sink(fd: 2)

        init(fd: Int32) {
            self.fd = fd
            let sink = self
            OSThread.spawn(name: "log-flush") {
                while true {
                    usleep(100_000)
                    sink.flush()
                }
            }
        }

        func append(_ line: [UInt8], urgent: Bool) {
            let full = buffer.withLock { buffer -> Bool in
                buffer.append(contentsOf: line)
                return buffer.count >= flushThreshold
            }
            if full || urgent { flush() }
        }

        /// Writes whatever is buffered. The buffer is swapped out under its lock and
        /// written outside it, so loggers never wait on the `write`.
        public func flush() {
            writeOrder.withLock { _ in
                let pending = buffer.withLock { buffer -> [UInt8] in
                    let taken = buffer
                    buffer.removeAll(keepingCapacity: true)
                    return taken
                }
                var offset = 0
                while offset < pending.count {
                    let n = pending.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    offset += n
                }
            }
        }
    }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let sink: Sink
    private let format: Format

    /// One line per event: readable text, or a JSON object (for log shippers).
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    /// A handler for `label` writing into `sink`.
    public init(label: String, sink: Sink, format: Format = .text) {
        self.label = label
        self.sink = sink
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = event.metadata.map { metadata.merging($0) { $1 } } ?? metadata
        if format == .json {
            var object: JSONObject = [
                "time": .string(Timestamp.now()), "level": .string(event.level.rawValue), "label": .string(label),
                "message": .string(event.message.description),
            ]
            for (key, value) in merged where object[key] == nil { object[key] = .string(value.description) }
            sink.append(Array((JSONValue.object(object).jsonText + "\n").utf8), urgent: event.level >= .warning)
            return
        }
        var line = Timestamp.now()
        line += " "
        line += event.level.rawValue
        line += " "
        line += label
        line += ": "
        line += event.message.description
        if !merged.isEmpty {
            for (key, value) in merged.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
        }
        line += "\n"
        sink.append(Array(line.utf8), urgent: event.level >= .warning)
    }
}

/// RFC 3339 UTC timestamps, formatted once per second.
enum Timestamp {
    private static let cache = Mutex<(second: Int64, text: String)>((-1, ""))

    static func now() -> String {
        let second = clinux_realtime_s()
        return cache.withLock { cache in
            if cache.second != second {
                var time = time_t(second)
                var parts = tm()
                gmtime_r(&time, &parts)
                func pad(_ value: Int32, _ width: Int = 2) -> String {
                    let text = String(value)
                    return String(repeating: "0", count: max(0, width - text.count)) + text
                }
                cache = (
                    second,
                    "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T"
                        + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))Z"
                )
            }
            return cache.text
        }
    }
}
