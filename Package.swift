// swift-tools-version: 6.1
import PackageDescription

// RUNLOG_WITHOUT_SERVER=1 leaves the server (and Hummingbird, swift-nio, BoringSSL for its test
// client, and the `run` and `rerun` commands, which serve a run to their child) out of the build:
// the sanitizer passes, which do not test it, set it, and so does `make demo`, to build quickly.
let withServer = Context.environment["RUNLOG_WITHOUT_SERVER"] == nil

let package = Package(
    name: "Runlog",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Runlog", targets: ["Runlog"]),
        .library(name: "RunlogStore", targets: ["RunlogStore"]),
        .library(name: "RunlogWorkloads", targets: ["RunlogWorkloads"]),
        .library(name: "RunlogServer", targets: ["RunlogServer"]),
        .executable(name: "runlog", targets: ["RunlogCLI"]),
        .executable(name: "runlog-campaign", targets: ["RunlogCampaign"]),
        .executable(name: "runlog-fuzz", targets: ["RunlogFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // The server's HTTP stack; swift-configuration support is not needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        // Hummingbird's own lifecycle: named so `runlog run` can stop its in-process server gracefully.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
    ],
    targets: [
        // liblz4 from the system (Debian: liblz4-dev), found through pkg-config.
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]
        ),
        // SHA-256 from the system's libcrypto (Debian: libssl-dev), through pkg-config.
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        // CRC-32C with the CPU's instruction (SSE4.2, ARMv8 CRC); the engine falls back to tables.
        .target(name: "CRunlogCRC"),
        // The calling thread's ordinal in a thread-local variable, read inline by `log`.
        .target(name: "CRunlogThread"),
        // The value column's byte-plane gather, 16 values at a time in vector registers.
        .target(name: "CRunlogCodec"),
        // The engine: formats, codecs, segment log, index, recovery, file I/O seam.
        .target(
            name: "RunlogStore",
            dependencies: [
                "CLZ4",
                "CRunlogCRC",
                "CRunlogCodec",
                "CRunlogThread",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Format/FORMAT.md"]
        ),
        // The public API a training binary imports.
        .target(
            name: "Runlog",
            dependencies: ["RunlogStore", "CCrypto"]
        ),
        // Seeded workload generators shared by the demo, tests and benchmarks.
        .target(name: "RunlogWorkloads"),
        // What the tests, the campaign and the fuzzer plug into the engine, kept out of the
        // modules a training binary links: the simulated disk (the power-loss model) and the
        // fuzz entry points.
        .target(
            name: "RunlogTestSupport",
            dependencies: ["RunlogStore", "Runlog", .product(name: "Logging", package: "swift-log")]
        ),
        // The tracking web UI: pages, SVG charts, stylesheet and script, rendered from a store
        // (no HTTP here: the server routes requests to it).
        .target(name: "RunlogUI", dependencies: ["Runlog"], exclude: ["UI.md"]),
        // `runlog server`: MLflow's REST API over a store (routes, wire types, the store adapter),
        // and the web UI's routes.
        .target(
            name: "RunlogServer",
            dependencies: [
                "Runlog",
                "RunlogUI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "RunlogCLI",
            dependencies: [
                "Runlog",
                "RunlogServer",
                "RunlogWorkloads",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The reliability campaigns (crash loops, power loss, corruption), shared by the
        // `runlog-campaign` command and the tests that run short versions of them.
        .target(
            name: "RunlogReliability",
            dependencies: [
                "RunlogStore", "Runlog", "RunlogWorkloads", "RunlogTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "RunlogCampaign",
            dependencies: ["RunlogReliability", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // libFuzzer targets for the record reader, the decoders and the filter language; built
        // normally, it replays a corpus (see RELIABILITY.md).
        .executableTarget(name: "RunlogFuzz", dependencies: ["RunlogTestSupport"]),
        // A writer process that tests start, kill and race against (second-writer and crash tests).
        .executableTarget(
            name: "RunlogTestWriter",
            dependencies: ["Runlog", "RunlogWorkloads", "RunlogReliability"]
        ),
        // Runs the built `runlog` executable and compares whole outputs.
        .testTarget(name: "RunlogCLITests", dependencies: ["RunlogReliability"]),
        .testTarget(
            name: "RunlogTests",
            dependencies: [
                "Runlog", "RunlogStore", "RunlogWorkloads", "RunlogReliability",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "RunlogStoreTests",
            dependencies: [
                "RunlogStore", "RunlogWorkloads", "RunlogReliability", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "RunlogServerTests",
            dependencies: [
                "RunlogServer", "Runlog", "RunlogWorkloads", "RunlogReliability",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "RunlogUITests", dependencies: ["RunlogUI", "Runlog", "RunlogWorkloads"]),
        .testTarget(
            name: "RunlogReliabilityTests",
            dependencies: ["RunlogReliability", "RunlogTestSupport", "RunlogStore", "Runlog"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

if !withServer {
    let serverTargets: Set<String> = ["RunlogServer", "RunlogServerTests", "RunlogUI", "RunlogUITests"]
    package.targets.removeAll { serverTargets.contains($0.name) }
    package.products.removeAll { $0.name == "RunlogServer" }
    package.dependencies.removeAll {
        let kind = String(describing: $0.kind)
        return kind.contains("hummingbird") || kind.contains("swift-service-lifecycle")
    }
    for target in package.targets where target.name == "RunlogCLI" {
        // `runlog run` and `rerun` serve the run to their child: they go with the server.
        target.exclude += ["Server.swift", "Launcher.swift", "Run.swift", "Rerun.swift"]
        // A define, not `canImport(RunlogServer)`: a build folder that once built the server still
        // holds its module.
        target.swiftSettings = (target.swiftSettings ?? []) + [.define("RUNLOG_WITHOUT_SERVER")]
        target.dependencies.removeAll {
            if case .byNameItem(let name, _) = $0 { return name == "RunlogServer" }
            return false
        }
    }
}
