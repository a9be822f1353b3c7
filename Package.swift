// swift-tools-version:6.0
// ckptforget: an offline converter that makes trained model checkpoints forget.
// No Swift package dependencies: C libraries come in through system-library targets.
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
        .target(name: "Checkpoint", dependencies: ["CHDF5"]),
        .target(name: "Forgetting", dependencies: ["Checkpoint"]),
        .executableTarget(name: "ckptforget", dependencies: ["Checkpoint", "Forgetting"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint"]),
        .testTarget(name: "ForgettingTests", dependencies: ["Forgetting", "Checkpoint"]),
        .testTarget(name: "CLITests", dependencies: ["Checkpoint"]),
    ]
)
