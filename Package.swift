// swift-tools-version:6.1
import PackageDescription

/// Settings shared by every target.
let swiftSettings: [SwiftSetting] = [
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0335-existential-any.md
    .enableUpcomingFeature("ExistentialAny"),
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0444-member-import-visibility.md
    .enableUpcomingFeature("MemberImportVisibility"),
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0409-access-level-on-imports.md
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// The pure numeric modules are optimised in debug builds too: the suite trains
// reward models (exports, the audit) and fits crowd models, and unoptimised loops
// made those tests a large share of its time (AuditTests alone: 42 s of CPU → 18 s).
// Debugging them steps through optimised code.
let optimisedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "arbiter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "arbiter", targets: ["ArbiterCLI"]),
        .library(name: "HTTPServer", targets: ["HTTPServer"]),
        .library(name: "Agreement", targets: ["Agreement"]),
        .library(name: "RewardModel", targets: ["RewardModel"]),
        // For the libFuzzer harnesses in Benchmarks/fuzz (through `@_spi(Fuzzing)` entry points).
        .library(name: "ArbiterCore", targets: ["Arbiter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // C shims: epoll, eventfd, signals — what Glibc does not export to Swift.
        .target(name: "CLinux"),
        // System libraries: SQLite (libsqlite3-dev) and OpenSSL (libssl-dev).
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", providers: [.apt(["libssl-dev"])]),
        // libpq, loaded at run time (dlopen) only for postgres:// databases: the
        // build needs no PostgreSQL package; running against PostgreSQL needs libpq5.
        .target(name: "CLibPQ", linkerSettings: [.linkedLibrary("dl")]),
        // Bradley–Terry reward model: features, trainer, scoring, safetensors. Pure, no BLAS.
        .target(name: "RewardModel", swiftSettings: swiftSettings + optimisedInDebug),
        // Agreement statistics and rater quality. Pure: arrays in, numbers out.
        .target(name: "Agreement", swiftSettings: swiftSettings + optimisedInDebug),
        // JSON parsing and writing: strict, fast, with line-precise errors. Pure.
        .target(name: "JSON", swiftSettings: swiftSettings),
        // Named, detached OS threads: the one way the package starts a thread.
        .target(name: "Threads", dependencies: ["CLinux"], swiftSettings: swiftSettings),
        // SQLite and PostgreSQL connections, statements, writer + readers, group commit, migrations.
        .target(
            name: "Storage",
            dependencies: ["CSQLite", "COpenSSL", "CLibPQ", "CLinux", "Threads"],
            swiftSettings: swiftSettings
        ),
        // What the server and the client share: status codes, headers, errors that
        // become responses, the chunked transfer coding.
        .target(name: "HTTPCore", swiftSettings: swiftSettings),
        // Outbound HTTP/1.1 (model endpoints, moderation): blocking requests and a
        // streaming loop; TLS verified, no redirects followed.
        .target(
            name: "HTTPClient",
            dependencies: ["HTTPCore", "CLinux", "COpenSSL", "Threads"],
            swiftSettings: swiftSettings
        ),
        // Model endpoints: OpenAI-style chat completions streamed as server-sent
        // events, secrets kept out of messages, the pool of endpoints and moderation.
        .target(
            name: "ModelEndpoints",
            dependencies: ["HTTPClient", "JSON", "Threads"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HTTPServer",
            dependencies: [
                "HTTPCore",
                "CLinux",
                "Threads",
                "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Arbiter",
            dependencies: [
                "ModelEndpoints",
                "HTTPClient",
                "Threads",
                "HTTPServer",
                "Storage",
                "JSON",
                "Agreement",
                "RewardModel",
                "CLinux",
                "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ArbiterCLI",
            dependencies: [
                "Agreement",
                "Arbiter",
                "CLinux",
                "HTTPServer",
                "JSON",
                "RewardModel",
                "Storage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Helpers every test suite needs: a raw-socket HTTP client, temp dirs.
        .target(
            name: "TestSupport",
            dependencies: ["CLinux", "HTTPServer"],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HTTPServerTests",
            dependencies: ["HTTPServer", "HTTPCore", "HTTPClient", "TestSupport", "CLinux"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgreementTests",
            dependencies: ["Agreement", "JSON", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RewardModelTests",
            dependencies: ["RewardModel", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "JSONTests",
            dependencies: ["JSON"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ArbiterTests",
            dependencies: [
                "Arbiter", "TestSupport", "Storage", "JSON", "HTTPServer", "HTTPClient", "ModelEndpoints", "RewardModel", "Threads",
                "COpenSSL",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
