import CLinux
import Glibc

/// A few dedicated threads for blocking or CPU-heavy work (password hashing) that
/// must not run on an event loop or in Swift's cooperative pool.
///
/// ```swift
/// let pool = ThreadPool(name: "scrypt", threads: 2)
/// let hash = try await pool.run { try Password.hash("correct horse battery") }
/// ```
public final class ThreadPool: Sendable {
    /// What the threads are for (diagnostics).
    public let name: String
    private let queue = BlockingQueue<Job>()

    final class Job: @unchecked Sendable {
        // @unchecked Sendable: run exactly once, on one pool thread.
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts `threads` threads.
    public init(name: String, threads: Int) {
        self.name = name
        for index in 0..<max(1, threads) {
            let queue = self.queue
            OSThread.spawn(name: "\(name)-\(index)") {
                while true {
                    let batch = queue.popBatch(limit: 1)
                    if batch.isEmpty { return }
                    for job in batch { job.body() }
                }
            }
        }
    }

    deinit { queue.close() }

    /// Runs `body` on a pool thread, without waiting for it; false if the pool is closed.
    public func submit(_ body: @escaping @Sendable () -> Void) -> Bool {
        queue.push(Job(body))
    }

    /// Runs `body` on a pool thread and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let pushed = queue.push(
                Job {
                    do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
                })
            if !pushed { continuation.resume(throwing: PoolClosedError()) }
        }
    }
}
