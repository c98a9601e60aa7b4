// swift-tools-version:6.1
// Rater-quality detector on simulated crowds, fresh seeds: `bash Benchmarks/raters/run.sh`.
import PackageDescription

let package = Package(
    name: "rater-benchmark",
    dependencies: [.package(name: "arbiter", path: "../..")],
    targets: [
        .executableTarget(name: "RaterBenchmark", dependencies: [.product(name: "Agreement", package: "arbiter")])
    ]
)
