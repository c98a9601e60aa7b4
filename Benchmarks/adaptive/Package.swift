// swift-tools-version:6.1
// Seeded simulation of overlap policies: `bash Benchmarks/adaptive/run.sh`.
import PackageDescription

let package = Package(
    name: "adaptive-simulation",
    dependencies: [.package(name: "arbiter", path: "../..")],
    targets: [
        .executableTarget(
            name: "AdaptiveSimulation",
            dependencies: [.product(name: "Agreement", package: "arbiter"), .product(name: "RewardModel", package: "arbiter")])
    ]
)
