import Foundation
import Testing
import Checkpoint
@testable import Engine

/// keras.applications models with random weights at 32 × 32 (MobileNetV2, ResNet50, DenseNet121,
/// EfficientNetB0), as .h5 and .keras, against Keras' predictions and JAX's mini-batch Fisher
/// diagonals. Their files are too large to commit: Fixtures/check_applications.py writes them,
/// and these tests run when CKPTFORGET_APPLICATIONS names that directory.
@Suite struct ApplicationsTests {
    static let directory = ProcessInfo.processInfo.environment["CKPTFORGET_APPLICATIONS"]
    static let files = ["mobilenet_v2", "resnet50", "densenet121", "efficientnet_b0"].flatMap { [$0 + ".h5", $0 + ".keras"] }

    @Test(.enabled(if: directory != nil), arguments: files) func applicationAgreesWithKerasAndJAX(file: String) throws {
        let directory = try #require(Self.directory)
        let model = (directory as NSString).appendingPathComponent(file)
        let data = (directory as NSString).appendingPathComponent(String(file.prefix { $0 != "." }) + "_data.h5")
        // check_applications.py may have been given other models.
        guard FileManager.default.fileExists(atPath: model), FileManager.default.fileExists(atPath: data) else { return }
        let network = try Network(checkpoint: openCheckpoint(model))
        let result = try GraphTests.agreement(modelPath: model, dataPath: data, modes: [(.batch(2), "batch2")], network: network)
        print("[applications] \(file): \(network.nodes.count) nodes, \(network.parameters.count) trainable tensors; \(result)")
        GraphTests.expectAgrees(result, tensors: network.parameters.count, modes: 1)
    }
}
