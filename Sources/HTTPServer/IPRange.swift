import Glibc
import CLinux

/// An IPv4 or IPv6 address range in CIDR notation (`10.0.0.0/8`, `::1/128`, or a
/// single address), for recognising trusted reverse proxies.
///
/// ```swift
/// let proxies = try IPRange("10.0.0.0/8")
/// proxies.contains("10.1.2.3")  // true
/// ```
public struct IPRange: Sendable, Equatable, CustomStringConvertible {
    /// The network's bytes (4 or 16) and how many leading bits must match.
    let network: [UInt8]
    let prefix: Int
    public let description: String

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses `address[/prefix]`; the bits past the prefix must be zero.
    public init(_ text: String) throws(Invalid) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = IPRange.bytes(String(parts[0])) else {
            throw Invalid(description: "'\(text)' is not an IP address or CIDR range")
        }
        let bits = bytes.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...bits).contains(value) else {
                throw Invalid(description: "'\(text)': the prefix must be 0 to \(bits)")
            }
            prefix = value
        }
        for index in 0..<bits where index >= prefix && bytes[index / 8] & (0x80 >> UInt8(index % 8)) != 0 {
            throw Invalid(description: "'\(text)': address bits are set past /\(prefix)")
        }
        network = bytes
        self.prefix = prefix
        description = text
    }

    /// Whether `address` (textual IPv4 or IPv6; IPv4-mapped IPv6 counts as IPv4) is in the range.
    public func contains(_ address: String) -> Bool {
        guard var bytes = IPRange.bytes(address) else { return false }
        if bytes.count == 16, network.count == 4, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            bytes = Array(bytes[12...])
        }
        guard bytes.count == network.count else { return false }
        for index in 0..<prefix where (bytes[index / 8] ^ network[index / 8]) & (0x80 >> UInt8(index % 8)) != 0 {
            return false
        }
        return true
    }

    /// The 4 or 16 bytes of a textual address, or nil.
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// The client's address for a request from `peer`: the peer itself, unless the
    /// peer is a trusted proxy — then the rightmost `X-Forwarded-For` address that
    /// is not a trusted proxy (what the first untrusted hop claimed is all one can
    /// believe; anything further left the client could have written itself).
    public static func clientAddress(peer: String, forwardedFor: [String], trusted: [IPRange]) -> String {
        guard !trusted.isEmpty, trusted.contains(where: { $0.contains(peer) }) else { return peer }
        var client = peer
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { String($0.trimmingSpaces()) }
        for hop in hops.reversed() {
            guard bytes(hop) != nil else { break }
            client = hop
            if !trusted.contains(where: { $0.contains(hop) }) { break }
        }
        return client
    }
}
