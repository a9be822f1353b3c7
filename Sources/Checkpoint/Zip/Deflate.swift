internal import CZlib

/// zlib's one-shot compression and decompression of a zlib stream (`compress2` and `uncompress`:
/// what HDF5's deflate filter stores and reads), for the chunks `HDF5DeflatedChunks` writes on
/// every core.
enum Deflate {
    /// The most bytes `compress(_:into:level:)` can make of `count` bytes.
    static func bound(_ count: Int) -> Int { Int(compressBound(uLong(count))) }

    /// Compresses `input` into `output` at `level` (0 to 9): the compressed size, or nil when zlib
    /// fails (out of memory, or `output` smaller than `bound(input.count)` needs).
    static func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, level: Int32) -> Int? {
        guard let source = input.baseAddress, let destination = output.baseAddress else { return input.isEmpty ? 0 : nil }
        var size = uLongf(output.count)
        let status = compress2(destination.assumingMemoryBound(to: Bytef.self), &size, source.assumingMemoryBound(to: Bytef.self),
                               uLong(input.count), level)
        return status == Z_OK ? Int(size) : nil
    }

    /// Decompresses the zlib stream `input` into `output`: the decompressed size, or nil when the
    /// stream is damaged, incomplete, or holds more than `output` can take.
    static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard let source = input.baseAddress, let destination = output.baseAddress else { return nil }
        var size = uLongf(output.count)
        let status = uncompress(destination.assumingMemoryBound(to: Bytef.self), &size, source.assumingMemoryBound(to: Bytef.self),
                                uLong(input.count))
        return status == Z_OK ? Int(size) : nil
    }
}
