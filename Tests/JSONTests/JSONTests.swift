import JSON
import Testing

@Suite struct JSONTests {
    /// Found by the escaping fuzzer: `38e01` parses as the double 380, is written
    /// `380` and reads back as the integer 380 — the same number, another case.
    /// Integral doubles below 1e15 are written without a fraction on purpose.
    @Test func integralDoublesAreWrittenAsIntegers() throws {
        let parsed = try JSONValue.parse("38e01")
        #expect(parsed == .double(380))
        #expect(parsed.jsonText == "380")
        #expect(try JSONValue.parse(parsed.jsonText) == .int(380))
        #expect(try JSONValue.parse(JSONValue.double(1e15).jsonText) == .double(1e15), "large integral values stay doubles")
        #expect(try JSONValue.parse(JSONValue.double(0.1).jsonText) == .double(0.1), "shortest round-trip form")
    }

    @Test func parsesTheRFC8259Example() throws {
        // RFC 8259 §13, first example (abridged).
        let text = #"""
            {"Image": {"Width": 800, "Height": 600, "Title": "View from 15th Floor",
              "Thumbnail": {"Url": "http://www.example.com/image/481989943", "Height": 125, "Width": 100},
              "Animated" : false, "IDs": [116, 943, 234, 38793]}}
            """#
        let value = try JSONValue.parse(text)
        #expect(value["Image"]?["Width"] == .int(800))
        #expect(value["Image"]?["Thumbnail"]?["Url"]?.stringValue == "http://www.example.com/image/481989943")
        #expect(value["Image"]?["IDs"] == [116, 943, 234, 38793])
        #expect(value["Image"]?["Animated"] == false)
    }

    @Test func stringsAndEscapes() throws {
        #expect(try JSONValue.parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{c}\n\r\t"))
        #expect(try JSONValue.parse(#""\u00e9\u4e2d\ud83d\ude00""#) == .string("é中😀"))
        #expect(try JSONValue.parse("\"Zoë 中文 😀\"") == .string("Zoë 中文 😀"))
    }

    @Test func numbers() throws {
        #expect(try JSONValue.parse("0") == .int(0))
        #expect(try JSONValue.parse("-12") == .int(-12))
        #expect(try JSONValue.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSONValue.parse("1.5e3") == .double(1500))
        #expect(try JSONValue.parse("-0.25") == .double(-0.25))
        #expect(try JSONValue.parse("92233720368547758070") == .double(9.223372036854775807e19))
    }

    @Test func keepsKeyOrderAndRoundTrips() throws {
        let text = #"{"z":1,"a":[true,false,null],"m":{"x":"y\n"},"d":2.5}"#
        let value = try JSONValue.parse(text)
        #expect(value.objectValue?.keys == ["z", "a", "m", "d"])
        #expect(value.jsonText == text)
    }

    @Test func writerEscapesControlCharacters() {
        #expect(JSONValue.string("a\u{1}b\"\\</script>").jsonText == #""a\u0001b\"\\</script>""#)
        #expect(JSONValue.double(.nan).jsonText == "null")
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "[01]", "1.", ".5", "-", "1e", "+1", "NaN", "Infinity",
        "tru", "nul", "\"abc", "\"a\u{1}b\"", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00x\"",
        "{\"a\":1,\"a\":2}", "[1] [2]", "{\"a\" 1}", "[1 2]", "// c\n1", "1e999",
    ])
    func rejectsInvalidJSON(text: String) {
        #expect(throws: JSONError.self, "\(text.debugDescription)") { try JSONValue.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONError.self) { try JSONValue.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONError.self) { try JSONValue.parse([0x22, 0x5C, 0x6E, 0xFF, 0x22]) }
    }

    @Test func depthIsLimited() throws {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONError.self) { try JSONValue.parse(deep) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try JSONValue.parse(fine)
        let hostile = String(repeating: "[", count: 1_000_000)
        #expect(throws: JSONError.self) { try JSONValue.parse(hostile) }
    }

    @Test func errorsSayWhere() {
        do {
            _ = try JSONValue.parse(#"{"a": tru}"#)
            Issue.record("accepted")
        } catch {
            #expect(error.description == "invalid literal at byte 7")
        }
    }
}
