import Glibc

/// A node's name in shared tables (`reward_jobs.node`, `cluster_leases.holder`):
/// host, process and a random suffix, so two processes never share one and an
/// operator can tell which machine holds what.
enum NodeName {
    static func make() -> String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let name = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(name.isEmpty ? "node" : name)-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }
}
