import Foundation
import Testing
import Checkpoint
@testable import Engine

/// The engine's forward pass against Keras' own predictions on the same samples
/// (Fixtures/engine, written by make_engine_fixtures.py with model.predict).
@Suite struct ForwardTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func path(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    static func network(_ name: String) throws -> Network { try Network(checkpoint: openCheckpoint(path(name))) }

    static func keras(_ dataset: String) throws -> [Float] {
        let file = try HDF5ArrayFile(path: path("engine/predictions.h5"))
        return try file.readRows(dataset, 0..<200)
    }

    @Test(arguments: [("engine/mnist_cnn.h5", "test_data.h5", "cnn"),
                      ("keras/mnist_mlp.h5", "test_data.h5:x_flat,labels", "mlp"),
                      ("engine/mnist_mlp_sigmoid.h5", "test_data.h5:x_flat,labels", "mlp_sigmoid")])
    func forwardMatchesKeras(model: String, data: String, reference: String) throws {
        let network = try Self.network(model)
        let runner = try NetworkRunner(network: network, data: DataSource.open(Self.path("engine/" + data)), scale: 1 / 255)
        let (outputs, labels) = try runner.predictions(Split(name: "all", indices: Array(0..<200)))
        let expected = try Self.keras(reference)
        #expect(labels.count == 200 && outputs.count == expected.count)
        let worst = zip(outputs, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4, "max |diff| \(worst)")
        func argmax(_ v: [Float], _ s: Int) -> Int { (0..<10).max { v[s * 10 + $0] < v[s * 10 + $1] }! }
        let disagreements = (0..<200).filter { argmax(outputs, $0) != argmax(expected, $0) }
        #expect(disagreements.isEmpty, "\(disagreements.count) samples classified differently")
    }
}
