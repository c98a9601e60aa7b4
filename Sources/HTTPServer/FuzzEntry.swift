/// Entry points for the libFuzzer harnesses in `Benchmarks/fuzz` (SPI: not API).
@_spi(Fuzzing) public enum HTTPFuzzEntry {
    /// Everything the server does with untrusted request bytes before a handler
    /// runs: find the end of the head, parse it strictly, route the path, and
    /// decode a chunked body. Any outcome but a crash is fine.
    public static func request(_ bytes: UnsafeBufferPointer<UInt8>) {
        let limits = ParserLimits(maxRequestLineBytes: 8 * 1024, maxHeaderBytes: 64 * 1024, maxHeaderFields: 100)
        var end = 0
        // The head ends at the first CRLF CRLF; the rest is the body.
        var index = 3
        while index < bytes.count {
            if bytes[index - 3] == 0x0D && bytes[index - 2] == 0x0A && bytes[index - 1] == 0x0D && bytes[index] == 0x0A {
                end = index + 1
                break
            }
            index += 1
        }
        guard end > 0 else { return }
        guard let head = try? HTTPParser.parseHead(UnsafeBufferPointer(rebasing: bytes[0..<end]), limits: limits) else { return }
        var router = Router()
        router.add(.GET, "/api/projects/{id}/next") { _ in Response(status: .ok) }
        router.add(.POST, "/api/assignments/{id}/annotation") { _ in Response(status: .ok) }
        _ = router.match(head.method, path: head.target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.target)
        if case .chunked = head.framing {
            var decoder = ChunkedDecoder(maxBodyBytes: 1 << 20)
            var body: [UInt8] = []
            _ = try? decoder.decode(UnsafeBufferPointer(rebasing: bytes[end...]), into: &body)
        }
        let request = Request(method: head.method, target: head.target, version: head.version, headers: head.headers, body: [])
        _ = request.queryItems
        _ = request.path
    }
}
