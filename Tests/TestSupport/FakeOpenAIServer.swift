import Foundation
import Glibc
public import JSON

/// A local stand-in for an OpenAI-compatible chat completions server, on
/// 127.0.0.1 and a free port, one thread per connection. What it does depends on
/// the request's `model`:
///
/// - `echo-N` (default N = 5): streams N tokens ("tok0 ", "tok1 ", …) as
///   server-sent events in a chunked body, `delayMs` apart, then `[DONE]`;
///   `WORD-N` the same with "WORD0 ", "WORD1 ", …;
/// - `slow`: says nothing for `silenceSeconds`;
/// - `fail`: 500 with an OpenAI-style error body;
/// - `malformed`: one event whose data is not JSON;
/// - `cut`: two tokens, then closes the connection mid-stream;
/// - `needs-key`: 401 unless `Authorization: Bearer secret-key`.
///
/// - `judge-good`, `judge-first`, `judge-random`, `judge-refuse`, `judge-malformed`:
///   a model judge (see ``judgeAnswer(model:content:)``): its answer streamed in
///   one chunk, with `usage` in a chunk of its own when the request asks for it.
///
/// `POST /v1/moderations` flags an `input` containing "forbidden".
///
/// Every request's body is kept (`requests`), to check what was sent.
public final class FakeOpenAIServer: @unchecked Sendable {
    // @unchecked Sendable: `requests` is guarded by `lock`; the rest is set in init.
    public let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var received: [JSONValue] = []
    public var delayMs: Int
    public var silenceSeconds: Double
    /// Judge answers beyond this many wait until ``releaseJudges()`` (nil: none wait).
    private var judgeHold: Int?
    private var judgesAnswered = 0
    private let judgeGate = NSCondition()

    public init(delayMs: Int = 5, silenceSeconds: Double = 3) throws {
        self.delayMs = delayMs
        self.silenceSeconds = silenceSeconds
        (listener, port) = try LoopbackListener.bind()
        let thread = Thread { [unowned self] in self.acceptLoop() }
        thread.start()
    }

    deinit { Glibc.shutdown(listener, Int32(SHUT_RDWR)); Glibc.close(listener) }

    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// Answers `count` judge requests, then holds the others until ``releaseJudges()``.
    public func holdJudges(after count: Int) {
        judgeGate.lock()
        judgeHold = count
        judgeGate.unlock()
    }

    public func releaseJudges() {
        judgeGate.lock()
        judgeHold = nil
        judgeGate.broadcast()
        judgeGate.unlock()
    }

    /// Judge requests answered so far (held ones not counted).
    public var judgeAnswers: Int {
        judgeGate.lock()
        defer { judgeGate.unlock() }
        return judgesAnswered
    }

    /// The JSON bodies received so far.
    public var requests: [JSONValue] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            Thread { self.serve(client) }.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { Glibc.close(fd) }
        guard let request = LoopbackListener.readRequest(fd) else { return }
        let head = request.head
        let body = (try? JSONValue.parse(request.body)) ?? .null
        lock.lock()
        received.append(body)
        lock.unlock()
        let model = body["model"]?.stringValue ?? ""
        if head.hasPrefix("POST /v1/moderations") {
            let flagged = (body["input"]?.stringValue ?? "").lowercased().contains("forbidden")
            let answer = #"{"id":"m","results":[{"flagged":\#(flagged),"categories":{"harassment":\#(flagged),"violence":false}}]}"#
            let text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(answer.utf8.count)\r\n\r\n" + answer
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            return
        }
        func write(_ text: String) -> Bool {
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
        }
        func chunked(_ text: String) -> Bool { write(String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n") }
        func event(_ json: String) -> Bool { chunked("data: " + json + "\n\n") }
        func delta(_ text: String) -> String {
            #"{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":\#(JSONValue.string(text).jsonText)},"finish_reason":null}]}"#
        }
        let streamHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        switch model {
        case "slow":
            usleep(UInt32(silenceSeconds * 1_000_000))
        case "fail":
            let error = #"{"error":{"message":"the model is overloaded","type":"server_error"}}"#
            _ = write(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: \(error.utf8.count)\r\n\r\n"
                    + error)
        case "needs-key" where !head.contains("Authorization: Bearer secret-key"):
            // As some providers do: the key that was sent, echoed in the message.
            let sent = head.split(separator: "\r\n").first { $0.hasPrefix("Authorization: ") }.map { " (" + $0.dropFirst(15) + ")" } ?? ""
            let error = #"{"error":{"message":"invalid API key\#(sent)","type":"auth"}}"#
            _ = write("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: \(error.utf8.count)\r\n\r\n" + error)
        case "malformed":
            _ = write(streamHead) && event("{not json") && chunked("")
        case "cut":
            _ = write(streamHead) && event(delta("tok0 ")) && event(delta("tok1 "))
        case _ where model.hasPrefix("judge-"):
            judgeGate.lock()
            while let hold = judgeHold, judgesAnswered >= hold { judgeGate.wait() }
            judgesAnswered += 1
            judgeGate.unlock()
            let content = body["messages"]?.arrayValue?.last?["content"]?.stringValue ?? ""
            let answer = Self.judgeAnswer(model: model, content: content)
            guard write(streamHead) else { return }
            if delayMs > 0 { usleep(UInt32(delayMs * 1000)) }
            let usage = body["stream_options"]?["include_usage"]?.boolValue == true
            _ =
                event(delta(answer))
                && event(#"{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#)
                && (!usage
                    || event(
                        #"{"id":"x","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":\#(content.utf8.count / 4),"completion_tokens":\#(answer.utf8.count / 4),"total_tokens":0}}"#
                    ))
                && event("[DONE]") && chunked("")
        default:
            // `echo-N`: "tok0 " … ; `WORD-N`: "WORD0 " …
            let dash = model.lastIndex(of: "-")
            let count = dash.flatMap { Int(model[model.index(after: $0)...]) } ?? 5
            let word = dash.map { String(model[..<$0]) }.map { $0 == "echo" ? "tok" : $0 } ?? "tok"
            guard write(streamHead) else { return }
            for index in 0..<count {
                if delayMs > 0 { usleep(UInt32(delayMs * 1000)) }
                guard event(delta("\(word)\(index) ")) else { return }
            }
            _ =
                event(#"{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#)
                && event("[DONE]") && chunked("")
        }
    }

    /// A planted judge's answer to a judging prompt whose better response (if
    /// any) contains "[better]": `judge-good` names it (tie when neither does),
    /// `judge-first` always says Response 1, `judge-random` flips a coin,
    /// `judge-refuse` declines, `judge-malformed` answers without a verdict line.
    public static func judgeAnswer(model: String, content: String) -> String {
        let first = content.range(of: "[Response 1]").map { content[$0.upperBound...] } ?? ""
        let firstText = first.range(of: "[Response 2]").map { first[..<$0.lowerBound] } ?? first
        let secondText = first.range(of: "[Response 2]").map { first[$0.upperBound...] } ?? ""
        switch model {
        case "judge-good":
            let verdict = firstText.contains("[better]") ? "1" : secondText.contains("[better]") ? "2" : "tie"
            return "Response \(verdict) answers the question; the other does not.\nVerdict: \(verdict)"
        case "judge-first":
            return "The first response seems fine.\n**Verdict:** Response 1"
        case "judge-random":
            // A coin, fixed per question (FNV-1a of the prompt), so runs repeat.
            let coin = content.utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
            return "Hard to say.\nVerdict: \(coin >> 32 & 1 == 0 ? "1" : "2")"
        case "judge-refuse":
            return "I'm sorry, but I can't help with comparing these responses."
        default:
            return "{\"verdict\": 1} — Verdict: probably the first"
        }
    }
}
