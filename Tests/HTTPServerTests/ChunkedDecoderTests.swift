@testable import HTTPCore
@testable import HTTPServer
import Testing

@Suite struct ChunkedDecoderTests {
    /// Feeds `text` in pieces of `step` bytes; returns the body, or the error status.
    func decode(_ text: String, step: Int = .max, maxBody: Int = 1 << 20) -> Result<(body: String, rest: Int), HTTPError> {
        let bytes = Array(text.utf8)
        var decoder = ChunkedDecoder(maxBodyBytes: maxBody)
        var body: [UInt8] = []
        var offset = 0
        do {
            while offset < bytes.count && !decoder.isDone {
                let end = min(bytes.count, offset + step)
                let consumed = try bytes.withUnsafeBufferPointer { buffer throws(HTTPError) in
                    try decoder.decode(UnsafeBufferPointer(rebasing: buffer[offset..<end]), into: &body)
                }
                offset += consumed
                if consumed < end - offset + consumed && !decoder.isDone { break }
            }
        } catch {
            return .failure(error)
        }
        guard decoder.isDone else { return .failure(HTTPError(.badRequest, code: "incomplete", message: "incomplete")) }
        return .success((String(decoding: body, as: UTF8.self), bytes.count - offset))
    }

    @Test func decodesChunksWholeAndByteByByte() throws {
        let wire = "4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\nNEXT"
        for step in [1, 2, 3, 7, .max] {
            let result = try decode(wire, step: step).get()
            #expect(result.body == "Wikipedia in\r\n\r\nchunks.")
            #expect(result.rest == 4, "stops at the end of the body, step \(step)")
        }
    }

    @Test func emptyBody() throws {
        #expect(try decode("0\r\n\r\n").get().body == "")
    }

    @Test func upperAndLowerHex() throws {
        #expect(try decode("a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n").get().body.count == 20)
    }

    @Test(arguments: [
        "\r\nabc\r\n0\r\n\r\n",  // missing size
        "g\r\nabc\r\n0\r\n\r\n",  // not hex
        "-1\r\nabc\r\n0\r\n\r\n",
        "3\nabc\r\n0\r\n\r\n",  // bare LF after size
        "3\r\nabcX\r\n0\r\n\r\n",  // data longer than size
        "3\r\nabc\n0\r\n\r\n",  // bare LF after data
        "1000000000000000\r\n",  // 16 hex digits: overflow risk
        "0\r\nX: y\n\r\n",  // bare LF in trailer
        "3 x\r\nabc\r\n0\r\n\r\n".replacingOccurrences(" x", "\u{0}"),  // NUL after size
    ])
    func malformedIs400(wire: String) {
        guard case .failure(let error) = decode(wire) else {
            Issue.record("accepted \(wire.debugDescription)")
            return
        }
        #expect(error.status == .badRequest)
    }

    @Test func tooLargeIs413() {
        guard case .failure(let error) = decode("8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n", maxBody: 10) else {
            Issue.record("accepted an over-limit body")
            return
        }
        #expect(error.status == .contentTooLarge)
    }

    @Test func endlessExtensionsAreRefused() {
        let wire = "1;" + String(repeating: "x", count: 70 * 1024) + "\r\na\r\n0\r\n\r\n"
        guard case .failure(let error) = decode(wire) else {
            Issue.record("accepted 70 KiB of chunk extensions")
            return
        }
        #expect(error.status == .badRequest)
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
