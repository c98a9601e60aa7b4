public import Threads

extension HTTPClient {
    /// Opens `request` on the calling thread (blocking up to its connect timeout:
    /// call it where blocking is allowed, never on an event loop), then reads the
    /// answer on `watcher`'s thread — the event loop of the connection the answer is
    /// relayed to, so each piece goes from this socket to that one on one thread.
    /// `head`, `body` and `done` run there: keep them short. An error opening the
    /// request goes to `done` on this thread.
    public static func stream(
        _ request: Request, readOn watcher: any DescriptorWatcher, head: @escaping (Head) throws -> Void,
        body: @escaping ([UInt8]) throws -> Bool, done: @escaping ((any Error)?) -> Void
    ) {
        guard let stream = StreamLoop.Stream.open(request, head: head, body: body, done: done) else { return }
        let watched = Watched(stream, watcher)
        watcher.execute { watched.start() }
    }

    /// One answer read on a watcher's thread; every method runs there.
    private final class Watched: @unchecked Sendable {
        // @unchecked Sendable: created on the opening thread, handed over once by
        // `execute`, then touched only on the watcher's thread.
        let stream: StreamLoop.Stream
        let watcher: any DescriptorWatcher
        var finished = false

        init(_ stream: StreamLoop.Stream, _ watcher: any DescriptorWatcher) {
            self.stream = stream
            self.watcher = watcher
        }

        func start() {
            guard watcher.watch(stream.socket.fd, { [self] in service() }) else {
                stream.socket.close()
                finished = true
                stream.done(HTTPClientError.unreachable("\(stream.reader.origin): cannot watch the connection"))
                return
            }
            watcher.everyTick { [self] in
                guard !finished else { return false }
                if let error = stream.timedOut(now: Socket.now()) { finish(error) }
                return !finished
            }
            service()  // the answer may have begun already
        }

        private func service() {
            guard !finished else { return }
            if let ending = stream.readAvailable() { finish(ending.error) }
        }

        private func finish(_ error: (any Error)?) {
            guard !finished else { return }
            finished = true
            watcher.unwatch(stream.socket.fd)
            stream.socket.close()
            stream.done(error)
        }
    }
}
