import HTTPServer
import Testing

/// CIDR ranges and the client address behind trusted proxies.
@Suite struct IPRangeTests {
    @Test func rangesContainWhatTheyShould() throws {
        let ten = try IPRange("10.0.0.0/8")
        #expect(ten.contains("10.255.1.2") && !ten.contains("11.0.0.1"))
        #expect(ten.contains("::ffff:10.1.2.3"), "IPv4-mapped IPv6")
        #expect(try IPRange("127.0.0.1").contains("127.0.0.1") && !(try IPRange("127.0.0.1")).contains("127.0.0.2"))
        let v6 = try IPRange("2001:db8::/32")
        #expect(v6.contains("2001:db8:1::5") && !v6.contains("2001:db9::1") && !v6.contains("10.0.0.1"))
        #expect(try IPRange("0.0.0.0/0").contains("203.0.113.9"))
        #expect(!ten.contains("not an address"))
    }

    @Test(arguments: ["10.0.0.1/8", "10.0.0.0/33", "example.org", "10.0.0.0/x", "", "::1/129"])
    func badRangesAreRefused(text: String) {
        #expect(throws: IPRange.Invalid.self) { try IPRange(text) }
    }

    @Test func theClientIsTheRightmostUntrustedHop() throws {
        let trusted = [try IPRange("10.0.0.0/8")]
        // Not from a trusted proxy: the header is the client's own claim, ignored.
        #expect(IPRange.clientAddress(peer: "203.0.113.7", forwardedFor: ["6.6.6.6"], trusted: trusted) == "203.0.113.7")
        #expect(IPRange.clientAddress(peer: "10.0.0.2", forwardedFor: ["6.6.6.6"], trusted: []) == "10.0.0.2")
        // From the proxy: the hop it saw; what the client wrote further left is not believed.
        #expect(IPRange.clientAddress(peer: "10.0.0.2", forwardedFor: ["6.6.6.6, 203.0.113.7"], trusted: trusted) == "203.0.113.7")
        #expect(
            IPRange.clientAddress(peer: "10.0.0.2", forwardedFor: ["6.6.6.6", "203.0.113.7, 10.0.0.3"], trusted: trusted) == "203.0.113.7")
        #expect(IPRange.clientAddress(peer: "10.0.0.2", forwardedFor: ["garbage, 10.0.0.3"], trusted: trusted) == "10.0.0.3")
        #expect(IPRange.clientAddress(peer: "10.0.0.2", forwardedFor: [], trusted: trusted) == "10.0.0.2")
    }
}
