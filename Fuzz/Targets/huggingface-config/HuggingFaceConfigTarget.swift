import Foundation
@testable import Checkpoint

/// The bytes as a Hugging Face `config.json` beside safetensors weights: its class labels.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = HuggingFaceConfig.classLabels(json: Data(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
