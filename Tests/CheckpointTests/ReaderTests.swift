import Foundation
import Testing
@testable import Checkpoint

/// The readers against files written by Keras, h5py and the safetensors package: the same trained
/// weights read through different writers and formats must agree.
@Suite struct ReaderTests {
    private func floats(_ file: any CheckpointFile, _ name: String) throws -> [Float] {
        let info = try #require(file.tensor(named: name), "no tensor \(name) in \(file.path)")
        guard case .float32(let values) = try file.read(info).values else {
            Issue.record("\(name) did not decode as float32")
            return []
        }
        return values
    }

    /// Transposes a row-major (rows, columns) matrix.
    private func transpose(_ m: [Float], rows: Int, columns: Int) -> [Float] {
        (0..<columns).flatMap { c in (0..<rows).map { r in m[r * columns + c] } }
    }

    @Test func kerasH5AndSafetensorsHoldTheSameWeights() throws {
        let keras = try openCheckpoint(Fixture.path("keras/mnist_mlp.h5"))
        let torch = try openCheckpoint(Fixture.path("safetensors/mlp.safetensors"))
        let kernel = try floats(keras, "model_weights/output/mnist_mlp/output/kernel")  // (32, 10)
        let weight = try floats(torch, "fc2.weight")                                    // (10, 32)
        #expect(transpose(kernel, rows: 32, columns: 10) == weight)
        #expect(try floats(keras, "model_weights/output/mnist_mlp/output/bias") == floats(torch, "fc2.bias"))
    }

    @Test func kerasWeightsFileHoldsTheSameWeights() throws {
        let legacy = try openCheckpoint(Fixture.path("keras/mnist_mlp.h5"))
        let weights = try openCheckpoint(Fixture.path("keras/mnist_mlp.weights.h5"))
        #expect(try floats(legacy, "model_weights/hidden/mnist_mlp/hidden/kernel") == floats(weights, "layers/dense/vars/0"))
        #expect(try floats(legacy, "model_weights/output/mnist_mlp/output/bias") == floats(weights, "layers/dense_1/vars/1"))
    }

    /// numpy's float32 → float16 cast (in the fixture script) must equal ours, element for element.
    @Test func halfFileIsTheFloat32FileRounded() throws {
        let f32 = try openCheckpoint(Fixture.path("safetensors/mlp.safetensors"))
        let f16 = try openCheckpoint(Fixture.path("safetensors/mlp_f16.safetensors"))
        for name in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"] {
            #expect(try floats(f32, name).map { Float(Float16($0)) } == floats(f16, name), "\(name)")
        }
    }

    /// jax's float32 → bfloat16 cast must equal ours.
    @Test func bfloat16FileIsTheFloat32FileRounded() throws {
        let f32 = try openCheckpoint(Fixture.path("safetensors/mlp.safetensors"))
        let bf16 = try openCheckpoint(Fixture.path("safetensors/mlp_bf16.safetensors"))
        for name in ["fc1.weight", "fc2.weight", "fc2.bias"] {
            let rounded = try floats(f32, name).map { FloatCodec.float(fromBFloat16: FloatCodec.bfloat16(from: $0)) }
            #expect(rounded == (try floats(bf16, name)), "\(name)")
        }
    }

    @Test func shardedCheckpointIsOneCheckpoint() throws {
        let sharded = try openCheckpoint(Fixture.path("safetensors/sharded"))
        let single = try openCheckpoint(Fixture.path("safetensors/mlp.safetensors"))
        #expect(sharded.format.name == "sharded safetensors" && sharded.format.isDirectoryModel)
        #expect(Set(sharded.tensors.map(\.name)) == Set(single.tensors.map(\.name)))
        #expect(sharded.files.count == 3)
        for name in ["fc1.weight", "fc2.bias"] { #expect(try floats(sharded, name) == floats(single, name)) }
    }

    @Test func genericHDF5ListsEveryNumericDataset() throws {
        let file = try openCheckpoint(Fixture.path("hdf5/generic.h5"))
        let byName = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0) })
        #expect(byName["encoder/weight"]?.shape == [16, 8])
        #expect(byName["extra/half"]?.dtype == .float16)
        #expect(byName["extra/double"]?.dtype == .float64)
        #expect(byName["extra/big_endian"]?.byteOrder == .big)
        #expect(byName["extra/counts"]?.dtype == .int32)
        #expect(byName["extra/scalar"]?.shape == [])
        // The big-endian dataset decodes to ordinary magnitudes (byte-swapped garbage would not).
        let big = try floats(file, "extra/big_endian")
        #expect(big.count == 16 && big.allSatisfy { $0.isFinite && abs($0) < 10 })
    }

    @Test func integerTensorsAreNeverDecoded() throws {
        let file = try openCheckpoint(Fixture.path("safetensors/mlp.safetensors"))
        let counter = try #require(file.tensor(named: "fc1.num_batches_tracked"))
        #expect(counter.dtype == .int64)
        #expect(throws: CheckpointError.self) { try file.read(counter) }
    }

    @Test func missingAndForeignFilesAreClearErrors() throws {
        #expect(throws: CheckpointError.notFound(path: "/nonexistent/model.h5")) { try openCheckpoint("/nonexistent/model.h5") }
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/tiny.bin"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        #expect(throws: CheckpointError.unrecognizedFormat(path: path, detail: "3 bytes long; neither HDF5, a zip (.keras, torch.save) nor safetensors")) {
            try openCheckpoint(path)
        }
    }
}
