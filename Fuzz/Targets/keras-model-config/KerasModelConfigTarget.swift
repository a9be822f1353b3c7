import Foundation
@testable import Checkpoint
@testable import Engine

/// Fixtures/engine/mnist_cnn.h5 (Conv2D, both poolings, BatchNormalization, Flatten, Dropout, Dense,
/// Activation), its tensors read once.
nonisolated(unsafe) let model = try! openCheckpoint(URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../../Fixtures/engine/mnist_cnn.h5").standardized.path)
let values = Dictionary(uniqueKeysWithValues: model.tensors.filter(\.dtype.isEditable).map { ($0.name, try! model.read($0)) })

/// That model with the fuzzer's bytes as its `model_config`.
final class Configured: CheckpointFile {
    let metadata: CheckpointMetadata
    init(_ config: String) {
        var metadata = model.metadata
        metadata.modelConfig = try? JSONValue(strict: Array(config.utf8))
        self.metadata = metadata
    }
    var path: String { model.path }
    var format: CheckpointFormat { model.format }
    var tensors: [TensorInfo] { model.tensors }
    func read(_ info: TensorInfo) throws -> Tensor { try values[info.name] ?? model.read(info) }
    func rewrite(to destination: String, in output: OutputTransaction, plan: RewritePlan,
                 progress: RewriteProgress, edit: (inout Tensor) throws -> Void) throws {
        throw CheckpointError.unsupported(path: path, tensor: "", reason: "not written while fuzzing")
    }
}

/// The bytes as a Keras `model_config`: the layout's classes, inputs and output layer, and the
/// engine's rebuilt network.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let file = Configured(String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self))
    _ = try? Layout(of: file).outputLayer()
    _ = try? KerasModelBuilder.build(file)
    return 0
}
