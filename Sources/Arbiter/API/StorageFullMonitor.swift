import HTTPServer
import Logging
import Storage
import Synchronization

/// Writes refused because the database's storage is full. Such a request is
/// answered `503 storage_full` with `Retry-After` (nothing was written: the
/// client may try again once space returns), `/readyz` says not ready while it
/// lasts, the log gets one line per ``logInterval`` however many requests fail,
/// and `arbiter_storage_full_total` counts them.
final class StorageFullMonitor: Sendable {
    /// At most one log line per this many milliseconds.
    static let logInterval: Int64 = 10_000
    /// `/readyz` answers 503 for this long (ms) after the last refused write.
    static let notReadyFor: Int64 = 5_000
    /// What the client is told to wait (seconds).
    static let retryAfter = 5

    private let logger: Logger
    private let counted: @Sendable () -> Void
    private let lastFull = Atomic<Int64>(0)
    private let lastLogged = Atomic<Int64>(0)
    private let sinceLogged = Atomic<Int>(0)

    init(logger: Logger, counted: @escaping @Sendable () -> Void = {}) {
        self.logger = logger
        self.counted = counted
    }

    /// The error to answer with: ``refused`` for a full disk, else `error` itself.
    func map(_ error: any Error) -> any Error {
        guard error.isStorageFull else { return error }
        let now = Int64(Clock.monotonicMilliseconds())
        lastFull.store(now, ordering: .relaxed)
        counted()
        let refused = sinceLogged.add(1, ordering: .relaxed).newValue
        let logged = lastLogged.load(ordering: .relaxed)
        if now - logged >= Self.logInterval,
            lastLogged.compareExchange(expected: logged, desired: now, ordering: .relaxed).exchanged
        {
            sinceLogged.store(0, ordering: .relaxed)
            logger.error("writes refused: the database's storage is full", metadata: ["refused": "\(refused)", "error": "\(error)"])
        }
        return Self.refused
    }

    /// Whether a write failed for lack of space within ``notReadyFor``.
    var isFull: Bool {
        let last = lastFull.load(ordering: .relaxed)
        return last != 0 && Int64(Clock.monotonicMilliseconds()) - last < Self.notReadyFor
    }

    static let refused = HTTPError(
        .serviceUnavailable, code: "storage_full",
        message: "the server's storage is full; nothing was saved — try again in a few seconds",
        headers: ["Retry-After": "\(retryAfter)"])
}
