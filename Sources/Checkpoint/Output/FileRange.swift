/// Bytes `offset..<offset + count` of a file open for reading, which a `ByteSink` shown them may
/// read again itself, from any thread, instead of copying them when they are shown. It keeps the
/// file open until the sink lets it go.
///
/// `@unchecked Sendable`: `FileBytes.readUnobserved` is safe from several threads at once, and
/// nothing else of the file is touched through it.
public struct FileRange: @unchecked Sendable {
    let file: FileBytes
    public let offset: Int
    public let count: Int

    /// Reads `buffer.count` bytes starting `start` bytes into the range.
    public func read(into buffer: UnsafeMutableRawBufferPointer, from start: Int) throws {
        precondition(start >= 0 && start + buffer.count <= count, "bytes \(start)..<\(start + buffer.count) of a range of \(count)")
        try file.readUnobserved(into: buffer, at: offset + start)
    }
}
