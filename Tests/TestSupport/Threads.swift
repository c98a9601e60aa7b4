import Glibc

/// Plain POSIX threads for blocking test clients (GCD's pool is shared and
/// grows slowly, so many blocking clients on it can starve each other).
public enum Threads {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Runs `body(i)` for `0..<count` on `count` new threads; returns once all have finished.
    public static func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        var threads: [pthread_t] = []
        for index in 0..<count {
            let box = Unmanaged.passRetained(Box { body(index) })
            var thread = pthread_t()
            let code = pthread_create(
                &thread, nil,
                { raw in
                    let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                    box.body()
                    return nil
                }, box.toOpaque())
            precondition(code == 0, "pthread_create failed: \(code)")
            threads.append(thread)
        }
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Starts `run` in the background; call `wait()` on the result to join.
    public static func start(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) -> Group {
        let group = Group()
        var thread = pthread_t()
        let box = Unmanaged.passRetained(
            Box {
                Threads.run(count, body); group.done()
            })
        let code = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, box.toOpaque())
        precondition(code == 0)
        group.thread = thread
        return group
    }

    public final class Group: @unchecked Sendable {
        var thread = pthread_t()
        private var finished = false
        func done() { finished = true }
        public func wait() { pthread_join(thread, nil) }
    }
}
