import Glibc

/// Addresses a request that refuses private targets must not reach: IPv4
/// 0.0.0.0/8, 10/8, 100.64/10 (carrier-grade NAT), 127/8, 169.254/16,
/// 172.16/12, 192.168/16; IPv6 ::, ::1, fc00::/7, fe80::/10, and IPv4-mapped
/// forms of the IPv4 ones (RFC 6890's special-purpose registries, the parts a
/// self-hosted service would expose on a LAN).
public enum PrivateAddress {
    /// True if the socket address is one of the ranges above.
    static func contains(_ address: UnsafeMutablePointer<sockaddr>?) -> Bool {
        guard let address else { return true }
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet in
                let value = UInt32(bigEndian: inet.pointee.sin_addr.s_addr)
                return contains(ipv4: [UInt8(value >> 24), UInt8(value >> 16 & 255), UInt8(value >> 8 & 255), UInt8(value & 255)])
            }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { inet in
                var bytes = inet.pointee.sin6_addr
                let array = withUnsafeBytes(of: &bytes) { Array($0) }
                return contains(ipv6: array)
            }
        default:
            return true
        }
    }

    /// IPv4 in network order.
    public static func contains(ipv4 b: [UInt8]) -> Bool {
        guard b.count == 4 else { return true }
        return b[0] == 0 || b[0] == 10 || b[0] == 127 || (b[0] == 100 && b[1] & 0xC0 == 64) || (b[0] == 169 && b[1] == 254)
            || (b[0] == 172 && b[1] & 0xF0 == 16) || (b[0] == 192 && b[1] == 168)
    }

    /// IPv6 in network order.
    public static func contains(ipv6 b: [UInt8]) -> Bool {
        guard b.count == 16 else { return true }
        if b[0..<15].allSatisfy({ $0 == 0 }) && (b[15] == 0 || b[15] == 1) { return true }  // :: and ::1
        if b[0] & 0xFE == 0xFC { return true }  // fc00::/7
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return true }  // fe80::/10
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF { return contains(ipv4: Array(b[12..<16])) }
        return false
    }
}
