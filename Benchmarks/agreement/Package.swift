// swift-tools-version:6.1
// Agreement + rater signals at scale: 1,000,000 judgements (100,000 pairs × 10,
// 1,000 raters), timed in one process. Depends on the main package's pure module.
import PackageDescription

let package = Package(
    name: "AgreementBenchmark",
    dependencies: [.package(name: "arbiter", path: "../..")],
    targets: [
        .executableTarget(
            name: "AgreementBenchmark",
            dependencies: [.product(name: "Agreement", package: "arbiter")],
            swiftSettings: [.swiftLanguageMode(.v5)]
        )
    ]
)
