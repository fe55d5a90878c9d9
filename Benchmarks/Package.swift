// swift-tools-version: 6.1
// Runlog's benchmarks, in their own package so that building or testing the main package never
// pays for the benchmark framework.
import Foundation
import PackageDescription

// A path dependency's identity is its directory name: derive it, so a checkout under any name works.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let runlog = root.lastPathComponent

let package = Package(
    name: "RunlogBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: root.path),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        // `swift package benchmark`: the suite, with time, throughput and malloc counts.
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Runlog", package: runlog),
                .product(name: "RunlogWorkloads", package: runlog),
            ],
            path: "Benchmarks/EngineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // `swift run -c release tracking-figures`: search, downsampling and compare at scale.
        .executableTarget(
            name: "tracking-figures",
            dependencies: [
                .product(name: "Runlog", package: runlog),
                .product(name: "RunlogWorkloads", package: runlog),
            ],
            path: "Sources/TrackingFigures"
        ),
        // `swift run -c release store-figures`: compaction, log latency under it, opening a large store.
        .executableTarget(
            name: "store-figures",
            dependencies: [
                .product(name: "Runlog", package: runlog),
                .product(name: "RunlogWorkloads", package: runlog),
            ],
            path: "Sources/StoreFigures"
        ),
        // The Runlog side of the comparison with peers (Benchmarks/peers/run drives it).
        .executableTarget(
            name: "runlog-peer",
            dependencies: [
                .product(name: "Runlog", package: runlog),
                .product(name: "RunlogWorkloads", package: runlog),
            ],
            path: "Sources/RunlogPeer"
        ),
        // `swift run -c release ratio-figures`: the engine's figures as ratios to LZ4, memcpy and
        // SQLite (its C API, in the same process), measured in one run.
        .executableTarget(
            name: "ratio-figures",
            dependencies: [
                "CLZ4Peer", "CSQLitePeer",
                .product(name: "Runlog", package: runlog),
                .product(name: "RunlogWorkloads", package: runlog),
            ],
            path: "Sources/RatioFigures"
        ),
        .systemLibrary(name: "CLZ4Peer", path: "Sources/CLZ4Peer"),
        .systemLibrary(name: "CSQLitePeer", path: "Sources/CSQLitePeer"),
        // `swift run -c release engine-figures`: bytes per point, ingest and scan rates as a table.
        .executableTarget(
            name: "engine-figures",
            dependencies: [
                .product(name: "RunlogStore", package: runlog),
                .product(name: "RunlogWorkloads", package: runlog),
            ],
            path: "Sources/EngineFigures"
        ),
    ],
    swiftLanguageModes: [.v6]
)
