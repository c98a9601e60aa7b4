/// A task executor on one thread of its own: background work written with
/// `async`/`await` (the webhook sender) runs there, so it neither waits for nor
/// takes a thread of Swift's small cooperative pool, which blocking code
/// elsewhere may be holding.
///
/// ```swift
/// let executor = ThreadExecutor(name: "webhooks")
/// Task(executorPreference: executor) { await work() }
/// ```
public final class ThreadExecutor: TaskExecutor, Sendable {
    private let queue = BlockingQueue<Job>()

    final class Job: @unchecked Sendable {
        // @unchecked Sendable: an UnownedJob is run exactly once, on the executor's thread.
        let job: UnownedJob
        init(_ job: UnownedJob) { self.job = job }
    }

    /// Starts the thread, named `name`.
    public init(name: String) {
        let queue = self.queue
        // The thread keeps the executor alive until ``shutdown()``.
        OSThread.spawn(name: name) { [self] in
            let executor = asUnownedTaskExecutor()
            while true {
                let batch = queue.popBatch(limit: 64)
                if batch.isEmpty { return }
                for job in batch { job.job.runSynchronously(on: executor) }
            }
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        _ = queue.push(Job(UnownedJob(job)))
    }

    /// Lets the thread end once the jobs queued so far have run; later jobs never run.
    public func shutdown() { queue.close() }
}
