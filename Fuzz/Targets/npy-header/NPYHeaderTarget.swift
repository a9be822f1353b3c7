@testable import Engine

/// The bytes as a whole `.npy` file: its header validated against the file's size. A row's size
/// must fit too, as the engine computes it from the shape to size a sample.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let header = try? NPYHeader(Array(UnsafeBufferPointer(start: data, count: size)), fileSize: size) else { return 0 }
    precondition(header.shape.dropFirst().reduce(1, *) == header.rowElements)
    return 0
}
