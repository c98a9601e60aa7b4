// swift-tools-version:6.1
// Dataset audit on planted poison, fresh seeds: `bash Benchmarks/audit/run.sh`.
import PackageDescription

let package = Package(
    name: "audit-benchmark",
    dependencies: [.package(name: "arbiter", path: "../..")],
    targets: [
        .executableTarget(name: "AuditBenchmark", dependencies: [.product(name: "ArbiterCore", package: "arbiter")])
    ]
)
