@testable import Checkpoint

/// The bytes as a sharded checkpoint's `model.safetensors.index.json`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = try? ShardIndex(json: Array(UnsafeBufferPointer(start: data, count: size)), path: "model.safetensors.index.json")
    return 0
}
