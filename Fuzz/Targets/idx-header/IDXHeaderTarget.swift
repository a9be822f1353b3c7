@testable import Engine

/// The bytes as an (uncompressed) IDX file: its magic, then as many sizes as it asks for, a read
/// past the end failing as `GzipFile.read` does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    struct Short: Error {}
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? IDXHeader(magic: Array(bytes.prefix(4))) { count in
        guard size - 4 >= count else { throw Short() }
        return Array(bytes[4..<(4 + count)])
    }
    return 0
}
