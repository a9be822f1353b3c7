import Foundation
import Testing
@testable import Checkpoint

/// Layers, roles, class axes and the output layer, from each file convention.
@Suite struct LayoutTests {
    @Test func kerasH5UsesLayerNamesAndWeightNames() throws {
        let layout = Layout(of: try openCheckpoint(Fixture.path("keras/mnist_mlp.h5")))
        #expect(layout.kind == .kerasLegacy)
        #expect(layout.layers.map(\.name) == ["hidden", "output"])
        #expect(layout.layers.map(\.className) == ["Dense", "Dense"])
        let output = try layout.outputLayer()
        #expect(output.name == "output" && output.outputUnits == 10)
        #expect(output.unitTensors.map(\.info.name) == ["model_weights/output/mnist_mlp/output/kernel", "model_weights/output/mnist_mlp/output/bias"])
        #expect(output.kernel?.classAxis == 1)  // Keras Dense kernel is (in, out)
        #expect(layout.optimizerGroups == ["optimizer_weights"])
        #expect(layout.tensors["optimizer_weights/adam/mnist_mlp_output_kernel_momentum"]?.role == .optimizer)
    }

    /// Found by `make fuzz` (huggingface-config): `{"num_labels":1e6}`, 18 bytes, made a million
    /// names and took over 5 s; made-up names stop at 65,536 classes, names in the file do not.
    @Test func configJSONClassLabels() {
        func labels(_ json: String) -> [String]? { HuggingFaceConfig.classLabels(json: Data(json.utf8)) }
        #expect(labels(#"{"num_labels":3}"#) == ["LABEL_0", "LABEL_1", "LABEL_2"])
        #expect(labels(#"{"id2label":{"1":"dog","0":"cat"},"num_labels":2}"#) == ["cat", "dog"])
        #expect(labels(#"{"num_labels":1e6}"#) == nil)
        #expect(labels(#"{"num_labels":65537}"#) == nil)
        #expect(labels(#"{"num_labels":65536}"#)?.last == "LABEL_65535")
        #expect(labels(#"{"id2label":{"0":"a","2":"c"}}"#) == nil)  // a gap
    }

    /// A Keras Functional model with two outputs declares both: the class layer must be named.
    @Test func twoDeclaredKerasOutputsAreAmbiguous() throws {
        let path = Fixture.path("keras/two_heads.h5")
        let layout = Layout(of: try openCheckpoint(path))
        #expect(throws: LayoutError.ambiguousOutputLayer(path: path, candidates: ["head_a (3 units)", "head_b (2 units)"])) {
            try layout.outputLayer()
        }
        #expect(try layout.outputLayer(named: "head_b").unitTensors.map(\.info.name)
            == ["model_weights/head_b/head_b/kernel", "model_weights/head_b/head_b/bias"])
    }

    @Test func keras3WeightsUsePositions() throws {
        let layout = Layout(of: try openCheckpoint(Fixture.path("keras/mnist_mlp.weights.h5")))
        #expect(layout.kind == .keras3Weights)
        #expect(layout.layers.map(\.name) == ["dense", "dense_1"])
        #expect(layout.tensors["layers/dense_1/vars/0"]?.role == .kernel)
        #expect(layout.tensors["layers/dense_1/vars/1"]?.role == .bias)
        #expect(try layout.outputLayer().name == "dense_1")
        #expect(layout.optimizerGroups == ["optimizer"])
    }

    @Test func stateDictIsPyTorchOriented() throws {
        let layout = Layout(of: try openCheckpoint(Fixture.path("safetensors/mlp.safetensors")))
        #expect(layout.kind == .stateDict)
        let output = try layout.outputLayer()
        #expect(output.name == "fc2" && output.outputUnits == 10)
        #expect(output.kernel?.classAxis == 0)  // PyTorch Linear weight is (out, in)
        #expect(layout.tensors["fc1.num_batches_tracked"]?.role == .other)
    }

    @Test func naturalOrderNumbersLayers() {
        let names = ["layers.10", "layers.2", "dense_1", "dense", "dense_10", "dense_2", "fc1"]
        #expect(names.sorted(by: NaturalOrder.less) == ["dense", "dense_1", "dense_2", "dense_10", "fc1", "layers.2", "layers.10"])
    }

    /// A transformer-like file whose head has no head's name: `proj` (3 units) is not last in name
    /// order → ambiguous; named as heads are (`classifier`), it is found.
    @Test func twoCandidateHeadsAreAmbiguousUntilNamed() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/heads.safetensors"
        let header = #"{"proj.weight":{"dtype":"F32","shape":[3,4],"data_offsets":[0,48]},"z.dense.weight":{"dtype":"F32","shape":[4,4],"data_offsets":[48,112]}}"#
        try Data(Fixture.safetensors(header: header, dataBytes: 112)).write(to: URL(fileURLWithPath: path))
        let layout = Layout(of: try openCheckpoint(path))
        #expect(throws: LayoutError.ambiguousOutputLayer(path: path, candidates: ["proj (3 units)", "z.dense (4 units)"])) {
            try layout.outputLayer()
        }
        #expect(try layout.outputLayer(named: "proj").outputUnits == 3)
        #expect(throws: LayoutError.unknownLayer(path: path, name: "head", candidates: ["proj (3 units)", "z.dense (4 units)"])) {
            try layout.outputLayer(named: "head")
        }
        let named = directory + "/named.safetensors"
        try Data(Fixture.safetensors(header: header.replacingOccurrences(of: "proj.weight", with: "classifier.weight"), dataBytes: 112))
            .write(to: URL(fileURLWithPath: named))
        #expect(try Layout(of: try openCheckpoint(named)).outputLayer().name == "classifier")
        #expect("\(LayoutError.ambiguousOutputLayer(path: path, candidates: ["a"]))".contains("--output-layer"))
    }
}
