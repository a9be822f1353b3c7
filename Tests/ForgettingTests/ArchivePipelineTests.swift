import Foundation
import Testing
@testable import Checkpoint
@testable import Forgetting

/// Whole runs on the torch.save and .keras fixtures against the expected outputs numpy computed
/// from them (Fixtures/make_torch_fixtures.py; Fixtures/check_torch_keras.py loads the same
/// outputs back in torch and Keras).
@Suite struct ArchivePipelineTests {
    private func run(_ input: String, _ specs: [String], classes: [Int] = [], pre: String? = nil, output name: String) throws -> (RunReport, any CheckpointFile, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckptforget-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let checkpoint = try openCheckpoint(PipelineTests.fixture(input))
        let plan = try ForgettingPlan(checkpoint: checkpoint, specs: specs.map(PassSpec.init(parsing:)), target: ForgetTarget(classes: classes),
                                      inputs: PassInputs(pre: try pre.map { try openCheckpoint(PipelineTests.fixture($0)) }))
        let transaction = OutputTransaction()
        do {
            let report = try ForgettingPipeline.run(plan, on: checkpoint, to: "\(directory)/\(name)", in: transaction)
            try transaction.commit()
            return (report, try openCheckpoint("\(directory)/\(name)"), directory)
        } catch {
            transaction.abort()
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    private func values(_ file: any CheckpointFile, _ name: String) throws -> TensorValues {
        try file.read(try #require(file.tensor(named: name))).values
    }

    private func expectEqual(_ output: any CheckpointFile, _ expected: String, _ names: [String], as renamed: [String]? = nil) throws {
        let want = try openCheckpoint(PipelineTests.fixture("expected/\(expected)"))
        for (name, wanted) in zip(names, renamed ?? names) {
            #expect(try values(output, name) == values(want, wanted), "\(expected): \(name)")
        }
    }

    @Test(arguments: ["", "_f16", "_bf16"])
    func torchDampenMatchesNumpy(suffix: String) throws {
        let (report, output, directory) = try run("torch/mnist_cnn\(suffix).pt", ["dampen:0.01"], classes: [2], output: "out.pt")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try expectEqual(output, "torch_cnn\(suffix)_dampen0.01_class2.safetensors", ["fc.weight", "fc.bias"])
        let input = try openCheckpoint(PipelineTests.fixture("torch/mnist_cnn\(suffix).pt"))
        for name in ["conv.weight", "conv.bias"] { #expect(try values(output, name) == values(input, name)) }
        #expect(report.outputLayer == "fc" && report.format.name == "PyTorch")
        #expect(output.tensors == input.tensors)
    }

    /// Row 1 of a transposed Parameter (stride (1, 4)): its elements lie apart in the storage.
    @Test func torchEditsANonContiguousView() throws {
        let (_, output, directory) = try run("torch/views.pt", ["dampen:0.5"], classes: [1], output: "out.pt")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try expectEqual(output, "torch_views_dampen0.5_class1.safetensors", ["head.weight", "head.bias"])
        let input = try openCheckpoint(PipelineTests.fixture("torch/views.pt"))
        for name in ["shared.a", "shared.b"] { #expect(try values(output, name) == values(input, name)) }
        #expect((output as? TorchFile)?.sharers(of: "shared.a") == ["shared.b"])
    }

    /// An edit of one view of a storage would edit the other: refused, before anything is written.
    @Test func torchRefusesToEditAStorageSharedByTwoNames() throws {
        #expect(throws: CheckpointError.self) { try run("torch/views.pt", ["negate:0.5"], pre: "torch/views.pt", output: "out.pt") }
        do { _ = try run("torch/views.pt", ["negate:0.5"], pre: "torch/views.pt", output: "out.pt") } catch {
            #expect("\(error)".contains("it shares its storage (views/data/2) with 'shared.b'"), "\(error)")
        }
    }

    @Test func shardedTorchMatchesTheSingleFile() throws {
        let (report, output, directory) = try run("torch/sharded/pytorch_model.bin.index.json", ["dampen:0.01"], classes: [2], output: "pytorch_model.bin.index.json")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try expectEqual(output, "torch_cnn_dampen0.01_class2.safetensors", ["fc.weight", "fc.bias"])
        #expect(report.outputFiles.map { ($0 as NSString).lastPathComponent }
            == ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin", "config.json", "pytorch_model.bin.index.json"])
    }

    /// PyTorch Geometric's GCN: the class passes edit its last layer (the weight and the bias that
    /// GCNConv keeps beside it), the snapshot passes every tensor.
    @Test func graphNetworkStateDictsAreStateDicts() throws {
        let (report, output, directory) = try run("torch/gcn.pt", ["suppress"], classes: [1], output: "out.pt")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(report.outputLayer == "conv2.lin")
        try expectEqual(output, "gcn_suppress_class1.safetensors", ["conv2.lin.weight", "conv2.bias"])
        let (_, negated, other) = try run("torch/gcn.pt", ["negate:1"], pre: "torch/gcn_pre.pt", output: "negated.pt")
        defer { try? FileManager.default.removeItem(atPath: other) }
        let pre = try openCheckpoint(PipelineTests.fixture("torch/gcn_pre.pt"))
        for info in pre.tensors { #expect(try values(negated, info.name) == values(pre, info.name), "\(info.name)") }
    }

    /// The .keras archive of the fixture MLP gets numpy's edit, as its legacy .h5 does.
    @Test func kerasArchiveMatchesNumpy() throws {
        let (report, output, directory) = try run("keras/mnist_mlp.keras", ["dampen:0.01"], classes: [2], output: "out.keras")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try expectEqual(output, "mnist_mlp_dampen0.01_class2.safetensors", ["layers/dense_1/vars/0", "layers/dense_1/vars/1"], as: ["kernel", "bias"])
        #expect(report.outputLayer == "dense_1" && report.droppedGroups == ["optimizer"])
        #expect(output.metadata.modelConfig == (try openCheckpoint(PipelineTests.fixture("keras/mnist_mlp.keras"))).metadata.modelConfig)
    }
}
