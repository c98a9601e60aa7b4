import CLinux
import Glibc

/// Dedicated OS threads for work that blocks (event loops in `epoll_wait`, log
/// flushing, signal waiting, database connections, worker pools), outside Swift's
/// cooperative pool: named (`top`, `ps -L` and crash logs show what each is),
/// detached, and a failure to start one is a crash, not a silent hang.
public enum OSThread {
    private final class Box {
        let name: String
        let body: () -> Void
        init(_ name: String, _ body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts a detached thread named `name` running `body`.
    public static func spawn(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(name, body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { pointer in
                let box = Unmanaged<Box>.fromOpaque(pointer!).takeRetainedValue()
                box.name.withCString { clinux_set_thread_name($0) }
                box.body()
                return nil
            }, box)
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }
}
