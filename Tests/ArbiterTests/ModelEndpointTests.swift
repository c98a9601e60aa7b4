@testable import ModelEndpoints
@testable import Arbiter
@testable import HTTPClient
import HTTPServer
import JSON
import Threads
import Dispatch
import Foundation
import Testing
import TestSupport

extension HTTPClient.Request {
    func withCA(_ path: String) -> HTTPClient.Request {
        var copy = self
        copy.caFile = path
        return copy
    }
}

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
        let completion = try ChatCompletions.stream(endpoint, messages: [("system", "Be brief."), ("user", "Count.")]) {
            pieces.append($0); return true
        }
        #expect(pieces == (0..<20).map { "tok\($0) " })
        #expect(completion.text == pieces.joined() && completion.chunks == 20 && completion.finishReason == "stop")
        #expect((completion.firstTokenMilliseconds ?? 0) < completion.totalMilliseconds)
        #expect(completion.totalMilliseconds >= 20 * 5, "the tokens came 5 ms apart")
        let sent = try #require(fake.requests.first)
        #expect(sent["model"] == "echo-20" && sent["stream"] == true && sent["temperature"] == .double(0.7) && sent["max_tokens"] == 64)
        #expect(sent["messages"] == [["role": "system", "content": "Be brief."], ["role": "user", "content": "Count."]])
        // The caller may stop early.
        var taken = 0
        let stopped = try ChatCompletions.stream(
            ModelEndpoint(name: "fake", baseURL: fake.baseURL, model: "echo-50"), messages: [("user", "x")]
        ) { _ in
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
        #expect(wrongKey == "m answered 401: invalid API key (Bearer [redacted])", "the key never appears in messages: \(wrongKey)")
        let openAIStyle = failure("needs-key", key: "sk-proj-a1B2c3D4e5F6g7H8i9J0")
        #expect(!openAIStyle.contains("a1B2c3D4") && openAIStyle.contains("[redacted]"), "\(openAIStyle)")
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

    /// What an upstream says is cleaned of keys before anyone stores, logs or shows it.
    @Test func secretsAreRedactedFromUpstreamText() {
        let key = "sk-proj-a1B2c3D4e5F6g7H8i9J0kLmN"
        #expect(SecretRedaction.redact("Incorrect API key provided: \(key).", keys: [key]) == "Incorrect API key provided: [redacted].")
        #expect(!SecretRedaction.redact("Incorrect API key provided: sk-proj-a1B2***********kLmN", keys: [key]).contains("a1B2c3"))
        #expect(SecretRedaction.redact("header was Bearer abc.def.ghi", keys: []) == "header was Bearer [redacted]")
        #expect(SecretRedaction.redact("use key sk-live-12345678abcdef now", keys: []) == "use key [redacted] now")
        #expect(SecretRedaction.redact("the model is overloaded", keys: [key]) == "the model is overloaded")
        #expect(SecretRedaction.redact("risk-free skills", keys: []) == "risk-free skills")
    }

    /// One stream loop reads many answers at once, in order, with the same plain
    /// failures as the blocking client (idle timeout included).
    @Test func theStreamLoopReadsManyAnswersAtOnce() async throws {
        let fake = try FakeOpenAIServer(delayMs: 5, silenceSeconds: 3)
        let loop = HTTPClient.StreamLoop()
        func run(
            _ model: String, idle: Double = 10
        ) async -> (pieces: [String], result: Result<ChatCompletions.Completion, ChatCompletions.Failure>) {
            var endpoint = ModelEndpoint(name: "m", baseURL: fake.baseURL, model: model)
            endpoint.idleTimeout = idle
            let chosen = endpoint
            let pieces = Pieces()
            let result = await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    ChatCompletions.stream(
                        chosen, messages: [("user", "hi")], on: loop,
                        token: {
                            pieces.append($0); return true
                        }
                    ) {
                        continuation.resume(returning: $0)
                    }
                }
            }
            return (pieces.all, result)
        }
        let answers = await withTaskGroup(of: (Int, [String], String?).self) { group in
            for i in 0..<40 {
                group.addTask {
                    let (pieces, result) = await run("w\(i)-20")
                    return (i, pieces, (try? result.get())?.text)
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = ($1.1, $1.2) }
        }
        for i in 0..<40 {
            let expected = (0..<20).map { "w\(i)\($0) " }
            #expect(answers[i]?.0 == expected && answers[i]?.1 == expected.joined(), "stream \(i)")
        }
        func failure(_ model: String, idle: Double = 10) async -> String {
            switch await run(model, idle: idle).result {
            case .success: return "no error"
            case .failure(let failure): return failure.description
            }
        }
        #expect(await failure("fail") == "m answered 500: the model is overloaded")
        #expect(await failure("malformed").hasPrefix("m sent a malformed event: {not json"))
        let cut = await failure("cut")
        #expect(cut.contains("in the middle of the body") || cut.contains("before finishing"), "\(cut)")
        #expect(await failure("slow", idle: 0.5).hasSuffix("no answer for 0.5 s"))
    }

    /// Called from a request handler, a model's answer is read on the event loop
    /// of that handler's connection: every token arrives on the loop thread the
    /// handler runs on (no hand-off to another thread), in order, and the idle
    /// timeout and upstream failures end the call as on the stream loop.
    @Test func answersAreReadOnTheCallersOwnEventLoop() async throws {
        let fake = try FakeOpenAIServer(delayMs: 2, silenceSeconds: 3)
        let pool = ModelPool(endpoints: [
            ModelEndpoint(name: "m", baseURL: fake.baseURL, model: "loop-30"),
            {
                var slow = ModelEndpoint(name: "slow", baseURL: fake.baseURL, model: "slow")
                slow.idleTimeout = 0.5
                return slow
            }(),
            ModelEndpoint(name: "fail", baseURL: fake.baseURL, model: "fail"),
        ])
        var router = Router()
        router.get("/relay/{name}") { request in
            let name = try request.parameters.require("name")
            let endpoint = try #require(pool.endpoint(named: name))
            let watcher = try #require(DescriptorWatchers.current, "handlers run on a loop that can watch descriptors")
            let handlerThread = UInt(pthread_self())
            let threads = Pieces()
            let result = await pool.complete(endpoint, messages: [("user", "hi")], readOn: watcher) { piece in
                threads.append("\(UInt(pthread_self()) == handlerThread ? "loop" : "other"):\(piece)")
                return true
            }
            switch result {
            case .success(let completion):
                return .text(threads.all.joined(separator: "|") + "#" + completion.text)
            case .failure(let failure):
                return .text("failed: " + failure.description)
            }
        }
        let server = try TestServer(router: router)
        let answer = try server.client().request("GET", "/relay/m")
        let text = String(decoding: answer.body, as: UTF8.self)
        let expected = (0..<30).map { "loop\($0) " }
        #expect(text == expected.map { "loop:" + $0 }.joined(separator: "|") + "#" + expected.joined(), "\(text.prefix(300))")
        let silent = String(decoding: try server.client().request("GET", "/relay/slow").body, as: UTF8.self)
        #expect(silent.hasPrefix("failed:") && silent.hasSuffix("no answer for 0.5 s"), "\(silent)")
        let failing = String(decoding: try server.client().request("GET", "/relay/fail").body, as: UTF8.self)
        #expect(failing == "failed: fail answered 500: the model is overloaded", "\(failing)")
        #expect(DescriptorWatchers.current == nil, "a test's own thread is no loop")
        await server.stop()
    }

    final class Pieces: @unchecked Sendable {
        // @unchecked Sendable: appended on the loop thread, read after the stream ended.
        var all: [String] = []
        func append(_ piece: String) { all.append(piece) }
    }

    @Test func verifiesCertificates() throws {
        let directory = TemporaryDirectory()
        let made = try CommandRunner.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory.path + "/key.pem", "-out",
                directory.path + "/cert.pem",
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
        // The stream loop reads over TLS too.
        let loop = HTTPClient.StreamLoop()
        let received = Pieces()
        let finished = DispatchSemaphore(value: 0)
        let outcome = Pieces()
        loop.start(
            request.withCA(directory.path + "/cert.pem"), head: { _ in },
            body: {
                received.append(String(decoding: $0, as: UTF8.self)); return true
            }
        ) { error in
            outcome.append(error.map { "\($0)" } ?? "done")
            finished.signal()
        }
        finished.wait()
        #expect(outcome.all == ["done"] && received.all.joined().contains("ok"), "\(outcome.all)")
    }

    @Test func parsesEventStreams() throws {
        var parser = ServerSentEvents()
        var events = try parser.feed(Array("data: one\r\n\r\n: a comment\nevent: ping\ndata: two\ndata: lines\n\n".utf8))
        events += try parser.feed(Array("data: split".utf8))
        events += try parser.feed(Array(" across\r".utf8))
        events += try parser.feed(Array("\rdata:[DONE]\n\n".utf8))
        #expect(
            events == [
                .init(type: "message", data: "one"), .init(type: "ping", data: "two\nlines"),
                .init(type: "message", data: "split across"), .init(type: "message", data: "[DONE]"),
            ])
        var small = ServerSentEvents(maxEventBytes: 100)
        #expect(throws: ServerSentEvents.TooLarge.self) { _ = try small.feed(Array(("data: " + String(repeating: "x", count: 200)).utf8)) }
    }
}
