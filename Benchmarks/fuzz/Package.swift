// swift-tools-version:6.1
// libFuzzer harnesses: build and run with `bash Benchmarks/fuzz/run.sh`.
import PackageDescription

let package = Package(
    name: "arbiter-fuzz",
    dependencies: [.package(name: "arbiter", path: "../..")],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzHTTP", dependencies: ["FuzzDriver", .product(name: "HTTPServer", package: "arbiter")]),
        .executableTarget(name: "FuzzImport", dependencies: ["FuzzDriver", .product(name: "ArbiterCore", package: "arbiter")]),
        .executableTarget(name: "FuzzEscaping", dependencies: ["FuzzDriver", .product(name: "ArbiterCore", package: "arbiter")]),
    ]
)
