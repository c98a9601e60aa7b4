import CLinux

/// Handing a complete request to its route and taking the response back.
extension Connection {
    /// Runs the matched route (inline on the loop, or as a task preferring the
    /// loop), or serves a static file, or answers 404/405/400.
    func dispatch() {
        guard let head else { return }
        let requestBody = body
        body = []
        var request = makeRequest(head, body: requestBody)
        request.admission = admission
        admission = nil
        state.dispatched(async: false)  // no timer runs while the request is answered
        switch match {
        case .found where !request.queryIsWellFormed:
            send(
                HTTPError(.badRequest, code: "bad_request", message: "malformed query string (bad %-escape, not UTF-8, or NUL)").response,
                for: request)
        case .found(let route, let parameters):
            request.parameters = parameters
            switch route.kind {
            case .inline(let handler):
                let response: Response
                do { response = try handler(request) } catch { response = core.response(for: error, request: request) }
                send(response, for: request)
            case .async(let handler):
                state.dispatched(async: true)
                let core = self.core
                let request = request
                Task(executorPreference: loop) {
                    let response: Response
                    do { response = try await handler(request) } catch { response = core.response(for: error, request: request) }
                    self.onLoop { connection in connection.complete(response, for: request) }
                }
            }
        case .notFound:
            if request.method == .GET || request.method == .HEAD,
                let files = core.router.staticFiles,
                let response = files.response(path: request.path, headers: request.headers)
            {
                send(response, for: request)
            } else {
                send(
                    HTTPError(.notFound, code: "not_found", message: "no route for \(request.method) \(request.path)").response,
                    for: request)
            }
        case .methodNotAllowed(let allow):
            let error = HTTPError(
                .methodNotAllowed, code: "method_not_allowed", message: "method \(request.method) not allowed",
                headers: ["Allow": allow.joined(separator: ", ")]
            )
            send(error.response, for: request)
        case .badPath:
            send(HTTPError(.badRequest, code: "bad_request", message: "malformed path").response, for: request)
        }
    }

    /// An async handler finished.
    func complete(_ response: Response, for request: Request) {
        guard state.awaitsResponse else { return }  // closed meanwhile
        send(response, for: request)
        resume()
    }

    /// After an async response: continue with pipelined input, then the socket.
    func resume() {
        processInbox()
        if canRead { readAvailable() }
        if !output.isEmpty { flush() }
    }

    /// A request that cannot be trusted: answer it and close.
    func fail(_ error: HTTPError) {
        state.failing()
        let request =
            head.map {
                Request(method: $0.method, target: $0.target, version: $0.version, headers: $0.headers, remoteAddress: remoteAddress)
            } ?? Request(method: .GET, target: "-", remoteAddress: remoteAddress)
        if requestStart == 0 { requestStart = clinux_monotonic_ns() }
        send(error.response, for: request)
    }
}
