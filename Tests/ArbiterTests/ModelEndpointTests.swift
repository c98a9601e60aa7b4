@testable import Arbiter
import HTTPServer
import JSON
import Testing
import TestSupport

/// The outbound client and the streamed chat completions against a local fake
/// OpenAI-compatible server (tokens, delays, failures, malformed events), TLS
/// verification against the real server over HTTPS, and the event-stream parser.
@Suite struct ModelEndpointTests {
    @Test func streamsTokensInOrder() throws {
        let fake = try FakeOpenAIServer(delayMs: 5)
        var endpoint = ModelEndpoint(name: "fake", baseURL: fake.baseURL, model: "echo-20", apiKey: "secret-key")
        endpoint.temperature = 0.7
        endpoint.maxTokens = 64
        var pieces: [String] = []
        let completion = try ChatCompletions.stream(endpoint, messages: [("system", "Be brief."), ("user", "Count.")]) { pieces.append($0); return true }
        #expect(pieces == (0..<20).map { "tok\($0) " })
        #expect(completion.text == pieces.joined() && completion.chunks == 20 && completion.finishReason == "stop")
        #expect((completion.firstTokenMilliseconds ?? 0) < completion.totalMilliseconds)
        #expect(completion.totalMilliseconds >= 20 * 5, "the tokens came 5 ms apart")
        let sent = try #require(fake.requests.first)
        #expect(sent["model"] == "echo-20" && sent["stream"] == true && sent["temperature"] == .double(0.7) && sent["max_tokens"] == 64)
        #expect(sent["messages"] == [["role": "system", "content": "Be brief."], ["role": "user", "content": "Count."]])
        // The caller may stop early.
        var taken = 0
        let stopped = try ChatCompletions.stream(ModelEndpoint(name: "fake", baseURL: fake.baseURL, model: "echo-50"), messages: [("user", "x")]) { _ in
            taken += 1
            return taken < 3
        }
        #expect(taken == 3 && stopped.chunks == 3)
    }

    @Test func failuresAreSaidPlainly() throws {
        let fake = try FakeOpenAIServer(silenceSeconds: 3)
        func failure(_ model: String, key: String? = nil, idle: Double = 10, base: String? = nil) -> String {
            var endpoint = ModelEndpoint(name: "m", baseURL: base ?? fake.baseURL, model: model, apiKey: key)
            endpoint.idleTimeout = idle
            do {
                _ = try ChatCompletions.stream(endpoint, messages: [("user", "hi")])
                return "no error"
            } catch {
                return error.description
            }
        }
        #expect(failure("fail") == "m answered 500: the model is overloaded")
        #expect(failure("needs-key") == "m answered 401: invalid API key")
        #expect(failure("needs-key", key: "secret-key") == "no error")
        let wrongKey = failure("needs-key", key: "not-the-key")
        #expect(wrongKey.contains("401") && !wrongKey.contains("not-the-key"), "the key never appears in messages")
        #expect(failure("malformed").hasPrefix("m sent a malformed event: {not json"))
        let cut = failure("cut")
        #expect(cut.contains("in the middle of the body") || cut.contains("before finishing"), "\(cut)")
        #expect(failure("slow", idle: 0.5).hasSuffix("no answer for 0.5 s"))
        // Nothing listening (port 1): refused, said as such.
        let down = failure("echo-1", base: "http://127.0.0.1:1/v1")
        #expect(down.contains("connection refused: is the endpoint running?"), "\(down)")
        #expect(failure("echo-1", base: "ftp://x/v1").contains("expected an http:// or https:// URL"))
        #expect(failure("echo-1", base: "http://no-such-host.invalid/v1").contains("cannot resolve the host"))
    }

    @Test func verifiesCertificates() throws {
        let directory = TemporaryDirectory()
        let made = try CommandRunner.run("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory.path + "/key.pem", "-out", directory.path + "/cert.pem",
            "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ])
        #expect(made.status == 0, "\(made)")
        let server = try ServerProcess([
            "serve", "--port", "0", "--db", directory.path + "/tls.sqlite", "--tls-cert", directory.path + "/cert.pem",
            "--tls-key", directory.path + "/key.pem", "--log-level", "notice",
        ])
        var request = HTTPClient.Request(method: "GET", url: "https://127.0.0.1:\(server.port)/healthz")
        request.caFile = directory.path + "/cert.pem"
        let (head, body) = try HTTPClient.fetch(request)
        #expect(head.status == 200 && String(decoding: body, as: UTF8.self).contains("ok"))
        // The system's roots do not know a self-signed certificate.
        request.caFile = nil
        #expect(throws: HTTPClientError.self) { try HTTPClient.fetch(request) }
        do {
            _ = try HTTPClient.fetch(request)
        } catch let error as HTTPClientError {
            #expect(error.description.contains("did not verify"), "\(error)")
        }
        // Trusted, but for another name.
        var other = HTTPClient.Request(method: "GET", url: "https://localhost:\(server.port)/healthz")
        other.caFile = directory.path + "/cert.pem"
        do {
            _ = try HTTPClient.fetch(other)
            Issue.record("a certificate for 127.0.0.1 was accepted for localhost")
        } catch let error as HTTPClientError {
            #expect(error.description.contains("did not verify"), "\(error)")
        }
    }

    @Test func parsesEventStreams() throws {
        var parser = ServerSentEvents()
        var events = try parser.feed(Array("data: one\r\n\r\n: a comment\nevent: ping\ndata: two\ndata: lines\n\n".utf8))
        events += try parser.feed(Array("data: split".utf8))
        events += try parser.feed(Array(" across\r".utf8))
        events += try parser.feed(Array("\rdata:[DONE]\n\n".utf8))
        #expect(events == [.init(type: "message", data: "one"), .init(type: "ping", data: "two\nlines"),
                           .init(type: "message", data: "split across"), .init(type: "message", data: "[DONE]")])
        var small = ServerSentEvents(maxEventBytes: 100)
        #expect(throws: ServerSentEvents.TooLarge.self) { _ = try small.feed(Array(("data: " + String(repeating: "x", count: 200)).utf8)) }
    }
}
