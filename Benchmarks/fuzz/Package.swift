// swift-tools-version:6.1
// libFuzzer harnesses: build and run with `bash Benchmarks/fuzz/run.sh`.
import PackageDescription

let package = Package(
    name: "arbiter-fuzz",
    dependencies: [.package(name: "arbiter", path: "../..")],
    targets: [
        .executableTarget(name: "FuzzHTTP", dependencies: [.product(name: "HTTPServer", package: "arbiter")]),
        .executableTarget(name: "FuzzImport", dependencies: [.product(name: "ArbiterCore", package: "arbiter")]),
        .executableTarget(name: "FuzzEscaping", dependencies: [.product(name: "ArbiterCore", package: "arbiter")]),
    ]
)
