@testable import Checkpoint

/// The bytes as a whole safetensors file: the length prefix, then the JSON header validated against
/// the file's size, as `SafetensorsFile` opens one (less the file reads).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let length = try? SafetensorsHeader.length(fromPrefix: Array(bytes.prefix(8)), fileSize: size),
          let header = try? SafetensorsHeader(json: Array(bytes[8..<(8 + length)]), fileSize: size),
          let byName = try? header.entriesByName(path: "fuzz.safetensors") else { return 0 }
    _ = byName.mapValues(\.info.byteCount)
    return 0
}
