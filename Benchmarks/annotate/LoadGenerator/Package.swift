// swift-tools-version:6.1
// A load generator for Benchmarks/annotate: N simulated annotators, each on one
// keep-alive connection in its own thread, doing next → submit in a loop.
import PackageDescription

let package = Package(
    name: "LoadGenerator",
    targets: [.executableTarget(name: "LoadGenerator", swiftSettings: [.swiftLanguageMode(.v5)])]
)
