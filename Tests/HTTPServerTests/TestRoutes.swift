import HTTPServer

/// The routes the end-to-end tests talk to.
enum TestRoutes {
    struct Boom: Error {}

    static func make(publicDirectory: String? = nil) -> Router {
        var router = Router()
        router.inline(.GET, "/healthz") { _ in .json(Array(#"{"status":"ok"}"#.utf8)) }
        router.inline(.GET, "/big") { _ in
            Response(contentType: "application/octet-stream", body: [UInt8](repeating: 0x62, count: 1 << 20))
        }
        router.post("/echo") { request in
            Response(contentType: "application/octet-stream", body: request.body)
        }
        router.post("/upload", maxBodyBytes: 8 * 1024 * 1024) { request in .text("\(request.body.count)") }
        // A route that checks its caller on the head, as the signed-in API routes do.
        router.add(
            .POST, "/private/upload",
            admission: { request in
                guard request.headers["authorization"] == "Bearer ok" else {
                    throw HTTPError(.unauthorized, code: "unauthenticated", message: "sign in first")
                }
                return nil
            }
        ) { request in .text("\(request.body.count)") }
        router.get("/sleep/{ms}") { request in
            let ms = try request.parameters.int("ms")
            try await Task.sleep(for: .milliseconds(ms))
            return .text("slept \(ms)")
        }
        router.get("/params/{a}/x/{b}") { request in
            .text("\(request.parameters["a"] ?? "-") \(request.parameters["b"] ?? "-") \(request.queryItems["q"] ?? "-")")
        }
        router.get("/stream/{lines}") { request in
            let lines = try request.parameters.int("lines")
            return .stream(contentType: "text/plain") { writer in
                var batch = ""
                for index in 0..<lines {
                    batch += "line \(index)\n"
                    if batch.utf8.count > 8192 {
                        try await writer.write(batch)
                        batch = ""
                    }
                }
                try await writer.write(batch)
            }
        }
        router.get("/stream-fails") { _ in
            .stream(contentType: "text/plain") { writer in
                try await writer.write("partial\n")
                throw Boom()
            }
        }
        router.get("/fail") { _ in throw Boom() }
        router.get("/conflict") { _ in
            throw HTTPError(.conflict, code: "lease_expired", message: "the \"lease\" expired")
        }
        if let publicDirectory, let files = try? StaticFiles(root: publicDirectory) {
            router.serveFiles(files)
        }
        return router
    }
}
