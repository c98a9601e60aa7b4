import CLinux

/// Checking the caller on the request head before its body is read (a route's
/// ``Admission``), and the request as handlers see it.
extension Connection {
    /// Runs the route's admission check on the head (the state is `admitting`; the
    /// body waits until it answers).
    func admit(_ parsed: RequestHead) {
        guard case .found(let route, let parameters) = match, let check = route.admission else { return }
        var head = makeRequest(parsed, body: [])
        head.parameters = parameters
        let request = head
        let core = self.core
        Task(executorPreference: loop) {
            do {
                let value = try await check(request)
                self.onLoop { connection in connection.admitted(value, parsed) }
            } catch {
                let response = core.response(for: error, request: request)
                self.onLoop { connection in connection.refused(response, for: request) }
            }
        }
    }

    func admitted(_ value: (any Sendable)?, _ parsed: RequestHead) {
        let buffered = inbox.count - inboxStart
        guard let sendContinue = state.admitted(now: clinux_monotonic_ns(), expectsContinue: parsed.expectsContinue, buffered: buffered)
        else { return }  // closed meanwhile
        admission = value
        if case .contentLength(let length) = parsed.framing { body.reserveCapacity(min(length, 1 << 20)) }
        if sendContinue { enqueue(Self.continueLine) }
        resume()
    }

    /// The caller may not send this body: answer and close without reading it.
    func refused(_ response: Response, for request: Request) {
        guard state.refused() else { return }
        send(response, for: request)
        if !output.isEmpty { flush() }
    }

    /// The request as handlers see it: the client's address and scheme (a trusted
    /// proxy's forwarded ones, see `trustedProxies`).
    func makeRequest(_ head: RequestHead, body: [UInt8]) -> Request {
        let trusted = core.configuration.trustedProxies
        let client = IPRange.clientAddress(peer: remoteAddress, forwardedFor: head.headers.values("x-forwarded-for"), trusted: trusted)
        var request = Request(
            method: head.method, target: head.target, version: head.version,
            headers: head.headers, body: body, remoteAddress: client
        )
        if core.configuration.tls != nil {
            request.scheme = "https"
        } else if !trusted.isEmpty, trusted.contains(where: { $0.contains(remoteAddress) }),
            let proto = head.headers["x-forwarded-proto"]?.lowercased(), proto == "https" || proto == "http"
        {
            request.scheme = proto
        }
        return request
    }
}
