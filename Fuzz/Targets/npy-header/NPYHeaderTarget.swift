@testable import Engine

/// The bytes as a whole `.npy` file: its header validated against the file's size.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = try? NPYHeader(Array(UnsafeBufferPointer(start: data, count: size)), fileSize: size)
    return 0
}
