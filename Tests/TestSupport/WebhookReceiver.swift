import Foundation
import Glibc

/// A webhook receiver on 127.0.0.1 for tests: keeps every request's headers and
/// raw body, and answers each with the next status of `statuses` (then 204). It
/// can start down (its port bound, connections refused) and come up later.
public final class WebhookReceiver: @unchecked Sendable {
    // @unchecked Sendable: `received` and `statuses` are guarded by `lock`; the rest is set in init.
    public let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var received: [Delivery] = []
    private var statuses: [Int]

    /// One request as it arrived.
    public struct Delivery: Sendable {
        /// Header names lower-cased.
        public var headers: [String: String]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Listens on a free port; with `listening` false the port is only bound, so
    /// connections are refused (a receiver that is down) until ``listen()``.
    public init(statuses: [Int] = [], listening: Bool = true) throws {
        self.statuses = statuses
        (listener, port) = try LoopbackListener.bind(listening: false)
        if listening { try listen() }
    }

    /// Starts accepting (a receiver that was down comes back on the same port,
    /// which no one else could take meanwhile).
    public func listen() throws {
        guard Glibc.listen(listener, 64) == 0 else { throw ServerProcess.Failure(description: "webhook receiver: cannot listen") }
        Thread { [self] in acceptLoop() }.start()
    }

    /// Stops listening.
    public func close() {
        Glibc.shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    public var url: String { "http://127.0.0.1:\(port)/hook" }

    /// What arrived so far.
    public var deliveries: [Delivery] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Waits until `condition` holds on what arrived (at most `timeout` seconds),
    /// sleeping without holding a thread of Swift's small cooperative pool.
    @discardableResult
    public func wait(timeout: Double = 20, until condition: ([Delivery]) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(deliveries) { return true }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return condition(deliveries)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            Thread { [self] in serve(client) }.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { Glibc.close(fd) }
        guard let request = LoopbackListener.readRequest(fd) else { return }
        lock.lock()
        received.append(Delivery(headers: request.headers, body: request.body))
        let status = statuses.isEmpty ? 204 : statuses.removeFirst()
        lock.unlock()
        let text = "HTTP/1.1 \(status) X\r\nContent-Length: 7\r\nConnection: close\r\n\r\nanswer\n"
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
