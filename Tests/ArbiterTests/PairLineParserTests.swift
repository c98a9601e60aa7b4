@testable import Arbiter
import JSON
import Testing

@Suite struct PairLineParserTests {
    let parser = PairLineParser()

    func parse(_ line: String, parser: PairLineParser? = nil) throws -> [PairInput] {
        try (parser ?? self.parser).parse(ArraySlice(Array(line.utf8)))
    }

    func error(_ line: String) -> String? {
        do {
            _ = try parse(line)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func plainPair() throws {
        let pairs = try parse(
            #"{"id":"p1","prompt":"Hi","response_a":"Hello!","response_b":"Go away.","model_a":"m1","model_b":"m2","metadata":{"topic":"greeting"},"gold":"A"}"#
        )
        #expect(pairs.count == 1)
        let pair = pairs[0]
        #expect(pair.externalID == "p1")
        #expect(pair.prompt == .text("Hi"))
        #expect(pair.responseA == "Hello!")
        #expect(pair.modelB == "m2")
        #expect(pair.gold == .a)
        #expect(pair.metadata?["topic"] == "greeting")
    }

    @Test func promptAsMessageList() throws {
        let pair = try parse(
            #"{"id":1,"prompt":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"response_a":"a","response_b":"b"}"#
        )[0]
        #expect(pair.externalID == "1")
        #expect(pair.prompt == .messages([.init(role: "system", content: "Be brief."), .init(role: "user", content: "Hi")]))
    }

    @Test func unknownKeysAreKeptInMetadata() throws {
        let pair = try parse(#"{"prompt":"q","response_a":"a","response_b":"b","source":"forum","score":3}"#)[0]
        #expect(pair.metadata?["source"] == "forum")
        #expect(pair.metadata?["score"] == 3)
    }

    @Test func trlSidesAreRandomisedButReproducible() throws {
        var chosenOnA = 0
        for index in 0..<200 {
            let line = #"{"prompt":"question \#(index)","chosen":"good \#(index)","rejected":"bad \#(index)"}"#
            let first = try parse(line)[0]
            let again = try parse(line)[0]
            #expect(first == again, "the same line lands the same way round")
            let sourceChosen = first.metadata?["source_chosen"]?.stringValue
            #expect((sourceChosen == "A" ? first.responseA : first.responseB) == "good \(index)")
            if sourceChosen == "A" { chosenOnA += 1 }
        }
        // Both sides occur (a fair coin gives 100 ± 35 at 5 sigma).
        #expect((65...135).contains(chosenOnA))
    }

    @Test func trlConversationalCompletions() throws {
        let pair = try parse(
            #"{"prompt":[{"role":"user","content":"Hi"}],"chosen":[{"role":"assistant","content":"Hello"}],"rejected":[{"role":"assistant","content":"No"}]}"#
        )[0]
        #expect(Set([pair.responseA, pair.responseB]) == ["Hello", "No"])
    }

    @Test func multiResponseGivesAllPairsOrK() throws {
        let line = #"{"id":"m","prompt":"p","responses":["r0","r1","r2","r3"],"models":["a","b","c","d"]}"#
        let all = try parse(line)
        #expect(all.map { $0.externalID ?? "" } == ["m:0-1", "m:0-2", "m:0-3", "m:1-2", "m:1-3", "m:2-3"])
        #expect(all[5].modelA == "c" && all[5].modelB == "d")
        let two = try parse(line, parser: PairLineParser(pairsPerPrompt: 2))
        #expect(two.count == 2)
        #expect(two == (try parse(line, parser: PairLineParser(pairsPerPrompt: 2))), "deterministic")
    }

    @Test func hhRLHFTranscriptsSplitAtTheLastAssistantTurn() throws {
        let chosen = "\n\nHuman: What is 2+2?\n\nAssistant: Do you mean in base 10?\n\nHuman: Yes.\n\nAssistant: It is 4."
        let rejected = "\n\nHuman: What is 2+2?\n\nAssistant: Do you mean in base 10?\n\nHuman: Yes.\n\nAssistant: It is 5."
        let line = JSONValue.object(["chosen": .string(chosen), "rejected": .string(rejected)]).jsonText
        let pair = try parse(line)[0]
        #expect(
            pair.prompt
                == .messages([
                    .init(role: "user", content: "What is 2+2?"), .init(role: "assistant", content: "Do you mean in base 10?"),
                    .init(role: "user", content: "Yes."),
                ]))
        #expect(Set([pair.responseA, pair.responseB]) == ["It is 4.", "It is 5."])
        let chosenSide = pair.metadata?["source_chosen"]?.stringValue
        #expect((chosenSide == "A" ? pair.responseA : pair.responseB) == "It is 4.")
    }

    @Test func hhRLHFWithDifferentConversationsIsRefused() {
        let line = JSONValue.object([
            "chosen": "\n\nHuman: A?\n\nAssistant: yes", "rejected": "\n\nHuman: B?\n\nAssistant: no",
        ]).jsonText
        #expect(error(line)?.contains("do not share") == true)
    }

    @Test func contentHashIgnoresResponseOrder() throws {
        let one = try parse(#"{"prompt":"q","response_a":"x","response_b":"y"}"#)[0]
        let two = try parse(#"{"prompt":"q","response_a":"y","response_b":"x"}"#)[0]
        #expect(one.contentHash == two.contentHash)
        let other = try parse(#"{"prompt":"q2","response_a":"x","response_b":"y"}"#)[0]
        #expect(one.contentHash != other.contentHash)
    }

    @Test(arguments: [
        (#"{"prompt":"q","response_a":"a"}"#, "response_b: missing"),
        (#"{"prompt":"q","response_a":"a","response_b":7}"#, "response_b: expected a string, got a number"),
        (#"{"response_a":"a","response_b":"b"}"#, "prompt: missing"),
        (#"{"prompt":"","response_a":"a","response_b":"b"}"#, "prompt: empty"),
        (#"{"prompt":[{"role":"wizard","content":"x"}],"response_a":"a","response_b":"b"}"#, "prompt[0].role"),
        (#"{"prompt":[{"role":"user"}],"response_a":"a","response_b":"b"}"#, "prompt[0]: expected"),
        (#"{"prompt":"q","response_a":"same","response_b":"same"}"#, "identical"),
        (#"{"prompt":"q","response_a":"a","response_b":"b","gold":"C"}"#, "gold: expected"),
        (#"{"prompt":"q","response_a":"a","response_b":"b","metadata":[1]}"#, "metadata: expected an object"),
        (#"{"id":{"x":1},"prompt":"q","response_a":"a","response_b":"b"}"#, "id: expected a string or an integer"),
        (#"{"prompt":"q","responses":["only one"]}"#, "at least two"),
        (#"{"prompt":"q","chosen":"a"}"#, "rejected: missing"),
        (#"{"text":"hello"}"#, "not a pair"),
        (#"[1,2]"#, "expected a JSON object, got an array"),
        (#"{"prompt":"q","response_a":"a","response_b":"b""#, "invalid JSON"),
    ])
    func badLinesSayWhatIsWrong(line: String, message: String) {
        let text = error(line)
        #expect(text?.contains(message) == true, "got \(text ?? "no error")")
    }

    @Test func sizeLimits() {
        var limits = PairLineParser.Limits()
        limits.maxResponseBytes = 10
        let parser = PairLineParser(limits: limits)
        #expect(throws: ValidationError.self) {
            _ = try parser.parse(ArraySlice(Array(#"{"prompt":"q","response_a":"12345678901","response_b":"b"}"#.utf8)))
        }
        let big = String(repeating: "x", count: 200_001)
        #expect(error(#"{"prompt":"\#(big)","response_a":"a","response_b":"b"}"#)?.contains("longer than 200000") == true)
    }

    @Test func invalidUTF8IsRefused() {
        let bytes: [UInt8] = Array(#"{"prompt":"q","response_a":""#.utf8) + [0xFF, 0xFE] + Array(#"","response_b":"b"}"#.utf8)
        #expect(throws: ValidationError.self) { _ = try parser.parse(ArraySlice(bytes)) }
    }
}
