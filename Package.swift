// swift-tools-version:6.0
// ckptforget: an offline converter that makes trained model checkpoints forget.
// No Swift package dependencies: C libraries come in through system-library targets.
import Foundation
import PackageDescription

let package = Package(
    name: "ckptforget",
    products: [
        .executable(name: "ckptforget", targets: ["ckptforget"]),
    ],
    targets: [
        .systemLibrary(
            name: "CHDF5",
            pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // glibc's <malloc.h> (mallopt); part of libc, so nothing to link or install.
        .systemLibrary(name: "CMalloc"),
        .target(name: "Checkpoint", dependencies: ["CHDF5", "CZlib"]),
        .target(name: "Engine", dependencies: ["CBLAS", "CMalloc", "Checkpoint"]),
        .target(name: "Forgetting", dependencies: ["Checkpoint", "Engine"]),
        .target(name: "Evaluation", dependencies: ["Checkpoint", "Engine"]),
        .target(name: "Manifest", dependencies: ["CCrypto", "Checkpoint", "Forgetting"]),
        // The report page: metrics and records to one self-contained HTML file; renders, reads nothing.
        .target(name: "Report", dependencies: ["Checkpoint", "Evaluation", "Manifest"]),
        // A forgetting run as one library call: plan, statistics, model passes, gate, pipeline, records.
        .target(name: "Jobs", dependencies: ["Checkpoint", "Engine", "Forgetting", "Evaluation", "Manifest", "Report"]),
        .executableTarget(name: "ckptforget", dependencies: ["Checkpoint", "Engine", "Forgetting", "Evaluation", "Manifest", "Jobs"]),
        // The engine's throughput with data in memory, for bench/fisher_bench.py; not installed.
        .executableTarget(name: "engine-bench", dependencies: ["Checkpoint", "Engine"], path: "Sources/EngineBench"),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint"]),
        .testTarget(name: "ForgettingTests", dependencies: ["Forgetting", "Checkpoint", "Engine"]),
        .testTarget(name: "ManifestTests", dependencies: ["Manifest", "Checkpoint"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Checkpoint"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Engine"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Evaluation", "Manifest", "Checkpoint"]),
        .testTarget(name: "JobsTests", dependencies: ["Jobs", "Forgetting", "Engine", "Checkpoint"]),
        .testTarget(name: "CLITests", dependencies: ["Checkpoint"]),
        // Reads Sources/ only: which module imports which, and where the C libraries are imported.
        .testTarget(name: "ArchitectureTests"),
    ]
)

// Fuzz targets: each folder Fuzz/Targets/NAME is the executable fuzz-NAME, a libFuzzer entry point
// that hands its bytes to one parser of untrusted input. They are part of the package only when
// CKPTFORGET_FUZZ is set, as `make fuzz` sets it, building them with -sanitize=fuzzer,address
// into .build-fuzz: libFuzzer supplies their `main`, so the normal build and tests never see them.
if ProcessInfo.processInfo.environment["CKPTFORGET_FUZZ"] != nil {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fuzz/Targets").path
    for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() where !name.hasPrefix(".") {
        package.targets.append(.executableTarget(name: "fuzz-\(name)", dependencies: ["Checkpoint", "Engine", "Forgetting", "Manifest"],
                                                 path: "Fuzz/Targets/\(name)"))
        package.products.append(.executable(name: "fuzz-\(name)", targets: ["fuzz-\(name)"]))
    }
}
