import Threads
import CLinux
import Glibc
import Synchronization

extension HTTPClient {
    /// Reads many streamed answers on one thread: each request is opened (connect,
    /// TLS, send — blocking, on the caller's thread), then its socket joins this
    /// loop's epoll set, and the answer is read as it arrives — so a hundred
    /// streams waiting for their next token cost one sleeping thread, not a
    /// hundred, and a burst of tokens is read in one wake-up.
    ///
    /// `head`, `body` and `done` run on the loop thread: keep them short.
    public final class StreamLoop: @unchecked Sendable {
        // @unchecked Sendable: `streams` is touched only by the loop thread; new
        // streams come in through `incoming` (a Mutex) and the eventfd.
        private let epollFD: Int32
        private let wakeFD: Int32
        private let incoming = Mutex<[Stream]>([])
        private var streams: [Int32: Stream] = [:]

        final class Stream: @unchecked Sendable {
            // @unchecked Sendable: handed over once, then touched only by the loop thread.
            let socket: Socket
            var reader: ResponseReader
            let idleTimeout: Double
            var deadline: Double
            let head: (Head) throws -> Void
            let body: ([UInt8]) throws -> Bool
            let done: ((any Error)?) -> Void

            init(
                socket: Socket, reader: ResponseReader, idleTimeout: Double, head: @escaping (Head) throws -> Void,
                body: @escaping ([UInt8]) throws -> Bool, done: @escaping ((any Error)?) -> Void
            ) {
                self.socket = socket
                self.reader = reader
                self.idleTimeout = idleTimeout
                deadline = Socket.now() + idleTimeout
                self.head = head
                self.body = body
                self.done = done
            }

            /// Opens `request` on the calling thread (blocking up to its connect
            /// timeout) and returns its answer to read; nil after handing an error
            /// opening it to `done`.
            static func open(
                _ request: Request, head: @escaping (Head) throws -> Void, body: @escaping ([UInt8]) throws -> Bool,
                done: @escaping ((any Error)?) -> Void
            ) -> Stream? {
                do {
                    let (socket, target) = try HTTPClient.open(request)
                    return Stream(
                        socket: socket, reader: ResponseReader(origin: target.origin, maxBodyBytes: request.maxBodyBytes),
                        idleTimeout: request.idleTimeout, head: head, body: body, done: done)
                } catch {
                    done(error)
                    return nil
                }
            }

            /// The answer's end, if it came: nil while more is to come (the socket
            /// would block), else how it ended (`error` nil: complete).
            struct Ending { var error: (any Error)? }

            /// Reads everything available on the socket.
            func readAvailable() -> Ending? {
                do {
                    while true {
                        switch try socket.readAvailable(describe: reader.origin) {
                        case .bytes(let bytes):
                            deadline = Socket.now() + idleTimeout
                            if try reader.feed(bytes, onHead: head, onBody: body) == .done { return Ending(error: nil) }
                        case .wouldBlock:
                            return nil
                        case .end:
                            try reader.atEnd()
                            return Ending(error: nil)
                        }
                    }
                } catch {
                    return Ending(error: error)
                }
            }

            /// The idle-timeout error, once its deadline has passed.
            func timedOut(now: Double) -> (any Error)? {
                now > deadline ? HTTPClientError.timedOut("\(reader.origin): no answer for \(Socket.format(idleTimeout)) s") : nil
            }
        }

        /// Starts the loop's thread.
        public init() {
            epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
            wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
            var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(fd: wakeFD))
            _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
            OSThread.spawn(name: "http-client") { [self] in run() }
        }

        /// Opens `request` on the calling thread (blocking up to its connect
        /// timeout), then reads the answer on the loop: `head` once, `body` with each
        /// piece (false stops reading), `done` once at the end (nil, or the error).
        /// An error opening the request goes to `done` as well, on this thread.
        public func start(
            _ request: Request, head: @escaping (Head) throws -> Void, body: @escaping ([UInt8]) throws -> Bool,
            done: @escaping ((any Error)?) -> Void
        ) {
            guard let stream = Stream.open(request, head: head, body: body, done: done) else { return }
            incoming.withLock { $0.append(stream) }
            var one: UInt64 = 1
            _ = Glibc.write(wakeFD, &one, 8)
        }

        private func run() {
            let capacity = 256
            let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
            defer { events.deallocate() }
            var nextCheck = Socket.now() + 0.25
            while true {
                let count = epoll_wait(epollFD, events, Int32(capacity), 250)
                for i in 0..<max(0, Int(count)) {
                    let fd = events[i].data.fd
                    if fd == wakeFD {
                        var value: UInt64 = 0
                        _ = Glibc.read(wakeFD, &value, 8)
                        for stream in incoming.withLock({ list in
                            defer { list = [] }; return list
                        }) {
                            var event = epoll_event(
                                events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue, data: epoll_data_t(fd: stream.socket.fd))
                            guard epoll_ctl(epollFD, EPOLL_CTL_ADD, stream.socket.fd, &event) == 0 else {
                                stream.socket.close()
                                stream.done(HTTPClientError.unreachable("\(stream.reader.origin): cannot watch the connection"))
                                continue
                            }
                            streams[stream.socket.fd] = stream
                            service(stream)  // the answer may have begun already
                        }
                    } else if let stream = streams[fd] {
                        service(stream)
                    }
                }
                let now = Socket.now()
                if now >= nextCheck {
                    nextCheck = now + 0.25
                    for stream in streams.values {
                        if let error = stream.timedOut(now: now) { finish(stream, error) }
                    }
                }
            }
        }

        /// Reads everything available on the stream's socket.
        private func service(_ stream: Stream) {
            if let outcome = stream.readAvailable() { finish(stream, outcome.error) }
        }

        private func finish(_ stream: Stream, _ error: (any Error)?) {
            guard streams.removeValue(forKey: stream.socket.fd) != nil else { return }
            _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, stream.socket.fd, nil)
            stream.socket.close()
            stream.done(error)
        }
    }
}
