import Foundation
import Testing
import Checkpoint
@testable import Forgetting

/// Whole runs on the fixtures, compared with the expected outputs numpy computed independently
/// (Fixtures/expected, made by Fixtures/make_fixtures.py).
@Suite struct PipelineTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// Runs `specs` on `input` into a scratch directory and opens the result.
    private func forget(_ input: String, _ specs: [String], classes: [Int], output name: String,
                        keepOptimizerState: Bool = false) throws -> (RunReport, any CheckpointFile, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckptforget-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let checkpoint = try openCheckpoint(input)
        let plan = try ForgettingPlan(checkpoint: checkpoint, specs: specs.map(PassSpec.init(parsing:)),
                                      target: ForgetTarget(classes: classes), keepOptimizerState: keepOptimizerState)
        let transaction = OutputTransaction()
        let report = try ForgettingPipeline.run(plan, on: checkpoint, to: "\(directory)/\(name)", in: transaction)
        try transaction.commit()
        return (report, try openCheckpoint("\(directory)/\(name)"), directory)
    }

    private func values(_ file: any CheckpointFile, _ name: String) throws -> TensorValues {
        try file.read(try #require(file.tensor(named: name))).values
    }

    /// Output equals numpy's expected tensors exactly, for f32, f16 and bf16 files.
    @Test(arguments: [("mlp", ""), ("mlp_f16", "_f16"), ("mlp_bf16", "_bf16")])
    func dampenMatchesNumpy(file: String, suffix: String) throws {
        let (report, output, directory) = try forget(Self.fixture("safetensors/\(file).safetensors"), ["dampen:0.01"], classes: [2], output: "out.safetensors")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let expected = try openCheckpoint(Self.fixture("expected/mlp\(suffix)_dampen0.01_class2.safetensors"))
        for name in ["fc2.weight", "fc2.bias"] {
            #expect(try values(output, name) == values(expected, name), "\(file) \(name)")
        }
        let input = try openCheckpoint(Self.fixture("safetensors/\(file).safetensors"))
        for name in ["fc1.weight", "fc1.bias"] { #expect(try values(output, name) == values(input, name)) }
        // The report counts exactly the elements where numpy's result differs from the input.
        for edit in report.passes[0].edits {
            let (before, after) = (try values(input, edit.tensor), try values(expected, edit.tensor))
            #expect(edit.elementsChanged == before.indices.filter { before[$0] != after[$0] }.count, "\(edit.tensor)")
        }
        #expect(Set(report.passes[0].edits.map(\.tensor)) == ["fc2.weight", "fc2.bias"])
    }

    @Test func kerasOutputLayerMatchesNumpyAndOptimizerStateIsDropped() throws {
        let (report, output, directory) = try forget(Self.fixture("keras/mnist_mlp.h5"), ["dampen:0.01"], classes: [2], output: "out.h5")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let expected = try openCheckpoint(Self.fixture("expected/mnist_mlp_dampen0.01_class2.safetensors"))
        #expect(try values(output, "model_weights/output/mnist_mlp/output/kernel") == values(expected, "kernel"))
        #expect(try values(output, "model_weights/output/mnist_mlp/output/bias") == values(expected, "bias"))
        #expect(!output.tensors.contains { $0.name.hasPrefix("optimizer_weights/") })
        #expect(report.droppedGroups == ["optimizer_weights"])
        #expect(report.droppedTensors.count == 10)
        #expect(report.outputLayer == "output")
        let edits = report.passes[0].edits
        #expect(edits.map(\.elementsChanged).sorted() == [1, 32])
    }

    @Test func keepingOptimizerStateKeepsItBitForBit() throws {
        let (report, output, directory) = try forget(Self.fixture("keras/mnist_mlp.h5"), ["zero"], classes: [2], output: "out.h5",
                                                     keepOptimizerState: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = try openCheckpoint(Self.fixture("keras/mnist_mlp.h5"))
        #expect(report.droppedGroups.isEmpty)
        for info in input.tensors where info.name.hasPrefix("optimizer_weights/") && info.dtype.isEditable {
            #expect(try values(output, info.name) == values(input, info.name))
        }
    }

    @Test func passesApplyInOrder() throws {
        // dampen by 0.5 then zero: the record of the second pass sees the dampened values.
        let (report, _, directory) = try forget(Self.fixture("safetensors/mlp.safetensors"), ["dampen:0.5", "zero"], classes: [7], output: "o.safetensors")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = report.passes[0].edits.first { $0.tensor == "fc2.bias" }!
        let second = report.passes[1].edits.first { $0.tensor == "fc2.bias" }!
        // bias b → b/2 → 0: both steps change it by |b|/2.
        #expect(first.maxAbs == second.maxAbs)
    }

    @Test func planErrorsComeBeforeAnyWork() throws {
        let checkpoint = try openCheckpoint(Self.fixture("safetensors/mlp.safetensors"))
        func plan(_ specs: [String], _ classes: [Int], layer: String? = nil) throws {
            _ = try ForgettingPlan(checkpoint: checkpoint, specs: specs.map(PassSpec.init(parsing:)), target: ForgetTarget(classes: classes), outputLayer: layer)
        }
        #expect(throws: PassError.classOutOfRange(class: 10, layer: "fc2", units: 10, path: checkpoint.path)) { try plan(["zero"], [10]) }
        #expect(throws: PassError.needsClass(pass: "dampen")) { try plan(["dampen:0.1"], []) }
        #expect(throws: PassError.noTensorMatches(spec: "zero@conv*", path: checkpoint.path)) { try plan(["zero@conv*"], [1]) }
        #expect(throws: LayoutError.self) { try plan(["zero"], [1], layer: "fc9") }
        // @GLOB on a layer name keeps just that layer's tensors.
        let only = try ForgettingPlan(checkpoint: checkpoint, specs: [PassSpec(parsing: "zero@*.bias")], target: ForgetTarget(classes: [1]))
        #expect(only.steps[0].tensors == ["fc2.bias"])
    }
}
