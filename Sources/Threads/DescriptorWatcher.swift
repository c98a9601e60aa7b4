import Glibc
import Synchronization

/// A thread that waits on file descriptors — an event loop — and can watch one
/// more for another module: the HTTP client reads a model's streamed answer on the
/// event loop of the connection it is relayed to, so a token goes from one socket
/// to the other on one thread, with no hand-off between threads.
///
/// `watch`, `unwatch` and `everyTick` are called on the loop's own thread
/// (``execute(_:)`` gets there from another).
public protocol DescriptorWatcher: AnyObject, Sendable {
    /// Calls `readable` on the loop's thread while `fd` has data or is hung up
    /// (level-triggered: read until the socket would block, or it is called
    /// again). False when the descriptor cannot be watched.
    func watch(_ fd: Int32, _ readable: @escaping () -> Void) -> Bool
    /// Stops watching `fd` (the caller closes it).
    func unwatch(_ fd: Int32)
    /// Runs `check` about every 250 ms on the loop's thread until it returns false.
    func everyTick(_ check: @escaping () -> Bool)
    /// Runs `work` on the loop's thread.
    func execute(_ work: @escaping @Sendable () -> Void)
}

/// Which ``DescriptorWatcher`` runs on the current thread, if any: loops say so
/// when their thread starts, and code running on one (a request handler's task)
/// finds it here.
public enum DescriptorWatchers {
    private static let byThread = Mutex<[UInt: Entry]>([:])

    private struct Entry: @unchecked Sendable {
        // @unchecked Sendable: a weak reference to a Sendable watcher.
        weak var watcher: (any DescriptorWatcher)?
    }

    /// Records `watcher` as the calling thread's.
    public static func setCurrent(_ watcher: any DescriptorWatcher) {
        let thread = UInt(pthread_self())
        byThread.withLock { $0[thread] = Entry(watcher: watcher) }
    }

    /// Forgets the calling thread's watcher (its loop has stopped).
    public static func clearCurrent() {
        let thread = UInt(pthread_self())
        _ = byThread.withLock { $0.removeValue(forKey: thread) }
    }

    /// The calling thread's watcher, or nil on any other thread.
    public static var current: (any DescriptorWatcher)? {
        let thread = UInt(pthread_self())
        return byThread.withLock { $0[thread]?.watcher }
    }
}
