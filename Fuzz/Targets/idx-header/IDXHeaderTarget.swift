@testable import Engine

/// The bytes as an (uncompressed) IDX file: its magic, then as many sizes as it asks for, a read
/// past the end failing as `GzipFile.read` does. A sample's size must fit, as the engine computes
/// it from the shape.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    struct Short: Error {}
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let header = try? IDXHeader(magic: Array(bytes.prefix(4)), sizes: { count in
        guard size - 4 >= count else { throw Short() }
        return Array(bytes[4..<(4 + count)])
    }) else { return 0 }
    precondition(header.shape.dropFirst().reduce(1, *) == header.sampleBytes)
    return 0
}
