import Glibc

/// A FIFO that blocks its consumer threads while empty (pthread mutex + condition).
/// For the database threads, which block in SQLite anyway.
public final class BlockingQueue<Element>: @unchecked Sendable {
    // @unchecked Sendable: every access to `items` and `closed` holds `mutex`.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var items: [Element] = []
    private var head = 0
    private var closed = false

    public init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Appends; false if the queue is closed.
    @discardableResult
    public func push(_ element: Element) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard !closed else { return false }
        items.append(element)
        pthread_cond_signal(condition)
        return true
    }

    /// Waits for at least one element, then takes up to `limit`; empty once closed and drained.
    public func popBatch(limit: Int) -> [Element] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while head == items.count && !closed { pthread_cond_wait(condition, mutex) }
        let end = min(items.count, head + limit)
        let batch = Array(items[head..<end])
        head = end
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096 {
            items.removeFirst(head)
            head = 0
        }
        return batch
    }

    /// Wakes every consumer; pending elements are still handed out.
    public func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}

/// Work handed to a pool (database connections, worker threads) after it closed:
/// the server is stopping.
public struct PoolClosedError: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "the pool is closed: the server is stopping" }
}
