import Foundation
import Testing
import Checkpoint
@testable import Engine

/// What the fixtures of GraphTests do not reach: edge values and the settings files may hold,
/// checked against Keras 3's definitions by hand.
@Suite struct LayerTests {
    static func settings(_ className: String, _ values: [String: Any], keras2: Bool = false) -> KerasSettings {
        KerasSettings(entry: ["class_name": className, "config": values.merging(["name": "l"]) { a, _ in a }], path: "m.h5", keras2: keras2)
    }

    static func layer(_ className: String, _ values: [String: Any], input: [Int], keras2: Bool = false) throws -> any Engine.Layer {
        let reader = WeightReader(checkpoint: try openCheckpoint(ForwardTests.path("engine/mnist_cnn.h5")), tensors: [], name: "l", path: "m.h5")
        guard case .layer(let layer) = try KerasLayerFactory.operation(settings(className, values, keras2: keras2), inputs: [input], reader: reader) else {
            throw EngineError.unsupportedLayer(path: "m.h5", layer: "l", className: className)
        }
        return layer
    }

    /// Keras 3 embeds a float id as JAX does: truncated toward zero, −V…−1 from the end, a NaN row
    /// for any other id; those get no gradient.
    @Test func embeddingIdsAreReadAsKerasReadsThem() {
        let table: [Float] = [0, 1, 10, 11, 20, 21]  // 3 rows of 2
        let embedding = Embedding(name: "e", table: table, vocabulary: 3, features: 2, tableName: "t")
        let ids: [Float] = [0, 2.7, -1, -0.5, 3, -4, .nan, .infinity, 1e30]
        let out = embedding.forward(Batch(values: ids, shape: [1, ids.count])).values
        #expect(Array(out[0..<8]) == [0, 1, 20, 21, 20, 21, 0, 1])
        let outside = out[8...].allSatisfy { $0.isNaN }
        #expect(outside)
        var sink = GradientSink(mode: .exact)
        _ = embedding.backward(input: Batch(values: ids, shape: [1, ids.count]), output: Batch(values: out, shape: [1, ids.count, 2]),
                               gradient: Batch(values: [Float](repeating: 1, count: out.count), shape: [1, ids.count, 2]),
                               fusedSoftmax: false, inputGradient: false, into: &sink)
        // Row 0 reached twice (0 and −0.5), row 2 twice (2.7 and −1): each a gradient of 2, squared.
        #expect(sink.contributions["t"] == [4, 4, 0, 0, 4, 4])
    }

    @Test func leakyReLUReadsKeras2sAlphaAndKeras3sSlope() throws {
        let keras2 = try #require(try Self.layer("LeakyReLU", ["alpha": 0.2], input: [3]) as? ReLULayer)
        let keras3 = try #require(try Self.layer("LeakyReLU", [:], input: [3]) as? ReLULayer)
        #expect(keras2.value(-1) == -0.2 && keras3.value(-1) == -0.3 && keras3.value(2) == 2)
        let relu6 = try #require(try Self.layer("ReLU", ["max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0], input: [3]) as? ReLULayer)
        #expect(relu6.value(7) == 6 && relu6.value(-1) == 0 && relu6.derivative(7) == 0 && relu6.derivative(3) == 1)
    }

    /// ReLU and ReLU6 run a branch-free loop: the same outputs and input gradients, bit for bit, as
    /// the per-element definitions, at the edges (±0, the cap, ±∞, NaN).
    @Test(arguments: [nil, 6.0] as [Double?]) func plainReLUFastPathsEqualTheDefinition(maxValue: Double?) throws {
        let values: [String: Any] = maxValue.map { ["max_value": $0, "negative_slope": 0.0, "threshold": 0.0] } ?? [:]
        let relu = try #require(try Self.layer("ReLU", values, input: [12]) as? ReLULayer)
        let x: [Float] = [-2, -0.0, 0, 1e-30, 3, 5.999_999, 6, 6.5, .infinity, -.infinity, .nan, 2]
        let input = Batch(values: x, shape: [1, 12])
        let output = relu.forward(input)
        let gradient: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, .nan]
        var sink = GradientSink(mode: .exact)
        let back = try #require(relu.backward(input: input, output: output, gradient: Batch(values: gradient, shape: [1, 12]),
                                              fusedSoftmax: false, inputGradient: true, into: &sink))
        for i in x.indices {
            #expect(output.values[i].bitPattern == relu.value(x[i]).bitPattern, "forward at \(x[i])")
            #expect(back.values[i].bitPattern == (gradient[i] * relu.derivative(x[i])).bitPattern, "backward at \(x[i])")
        }
    }

    /// Keras 2's hard_sigmoid is its own: files written by Keras 2 keep it.
    @Test func keras2FilesKeepKeras2sHardSigmoid() throws {
        let old = try #require(try Self.layer("Activation", ["activation": "hard_sigmoid"], input: [3], keras2: true) as? ActivationLayer)
        let new = try #require(try Self.layer("Activation", ["activation": "hard_sigmoid"], input: [3]) as? ActivationLayer)
        #expect(old.function == .keras2HardSigmoid && new.function == .hardSigmoid)
    }

    struct Refusal: Sendable, CustomStringConvertible {
        let description: String
        let className: String
        let values: [String: any Sendable]
        let input: [Int]
        let words: String
    }

    static let refusals: [Refusal] = [
        Refusal(description: "a reshape to another size", className: "Reshape", values: ["target_shape": [5, 2]], input: [3, 3],
                words: "target_shape [5, 2] for an input of shape [3, 3]"),
        Refusal(description: "two unknown sizes", className: "Reshape", values: ["target_shape": [-1, -1]], input: [4],
                words: "target_shape [-1, -1]"),
        Refusal(description: "negative padding", className: "ZeroPadding2D", values: ["padding": [[1, -1], [0, 0]]], input: [3, 3, 1],
                words: "padding"),
        Refusal(description: "a softmax over another axis", className: "Softmax", values: ["axis": 1], input: [3, 4],
                words: "softmax over axis 1"),
        Refusal(description: "masked embeddings", className: "Embedding", values: ["mask_zero": true], input: [5], words: "mask_zero"),
        Refusal(description: "channels first", className: "GlobalAveragePooling2D", values: ["data_format": "channels_first"], input: [3, 3, 1],
                words: "data_format 'channels_first'"),
        Refusal(description: "scales that are not numbers", className: "Rescaling", values: ["scale": ["a"]], input: [3], words: "scale"),
        Refusal(description: "Keras 2's cuDNN GRU", className: "CuDNNGRU", values: [:], input: [5, 3],
                words: "layer 'l' is a CuDNNGRU, which the engine does not run"),
        Refusal(description: "a stateful RNN", className: "LSTM", values: ["units": 2, "stateful": true], input: [5, 3], words: "stateful"),
        Refusal(description: "Keras 2's older GRU", className: "GRU", values: ["units": 2, "reset_after": false], input: [5, 3], words: "reset_after"),
        Refusal(description: "a Bidirectional that returns both", className: "Bidirectional",
                values: ["merge_mode": NSNull(), "layer": ["class_name": "LSTM", "config": ["units": 2] as [String: any Sendable]] as [String: any Sendable]],
                input: [5, 3], words: "merge_mode none"),
    ]

    @Test(arguments: refusals) func settingsTheEngineCannotRunAreRefused(_ refusal: Refusal) throws {
        do {
            let layer = try Self.layer(refusal.className, refusal.values, input: refusal.input)
            _ = try layer.outputShape(for: refusal.input, path: "m.h5")
            Issue.record("built")
        } catch let error as EngineError {
            #expect("\(error)".contains(refusal.words), "\(error)")
        }
    }

    @Test func aPReLUWhoseSlopesDoNotFitIsRefused() {
        let prelu = PReLU(name: "p", alpha: [1, 2], alphaShape: [1, 2], alphaName: "p/alpha")
        #expect(throws: EngineError.self) { try prelu.outputShape(for: [3, 3], path: "m.h5") }
        #expect((try? prelu.outputShape(for: [4, 2], path: "m.h5")) == [4, 2])
    }
}
