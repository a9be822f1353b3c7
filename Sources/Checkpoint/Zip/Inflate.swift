internal import CZlib

// The one door to zlib: every zlib call of the project is in this file, and no zlib type leaves it.
// The zip reader inflates members and checks CRCs through `RawInflater` and `CRC32`; the IDX data
// reader reads gzipped files through `GzipFile`.

/// CRC-32 as zip and gzip define it (zlib's `crc32`), fed in pieces.
public struct CRC32: Sendable, Equatable {
    public private(set) var value: UInt32 = 0

    public init() {}

    /// Adds `bytes` (any length; fed to zlib in pieces its `uInt` length can hold).
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var remaining = bytes.count
        var crc = UInt(value)
        while remaining > 0 {
            let part = min(remaining, 1 << 30)
            crc = CZlib.crc32(crc, base, UInt32(part))
            base += part
            remaining -= part
        }
        value = UInt32(truncatingIfNeeded: crc)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The CRC of `first` followed by `secondLength` bytes whose CRC is `second` (zlib's `crc32_combine`).
    public static func combine(_ first: UInt32, _ second: UInt32, secondLength: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: crc32_combine(UInt(first), UInt(second), Int(secondLength)))
    }

    public static func of(_ bytes: [UInt8]) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }
}

/// Why a deflate stream could not be inflated, in words (callers print the description).
enum InflateFailure: Error, Equatable, CustomStringConvertible {
    /// zlib reported corrupt data (its message).
    case corrupt(String)
    /// The stream ended before producing the expected bytes.
    case endedEarly(produced: Int)
    /// The stream goes on past the expected length.
    case longerThanDeclared

    var description: String {
        switch self {
        case .corrupt(let message): "the deflate data is corrupt: \(message)"
        case .endedEarly(let produced): "the deflate stream ends after \(produced) bytes, before the length expected"
        case .longerThanDeclared: "the deflate stream goes on past the length expected"
        }
    }
}

/// A raw deflate stream (zip method 8) inflated piece by piece into the caller's buffers, with the
/// output bounded by the length the zip directory declares: a stream that would produce more is an
/// error, not a bigger allocation.
final class RawInflater {
    private var stream = z_stream()
    private var open = false
    /// Bytes of output still expected.
    private(set) var remainingOutput: Int
    private(set) var finished = false

    init(expectedOutput: Int) throws(InflateFailure) {
        remainingOutput = expectedOutput
        let status = ckf_inflateInit2(&stream, -15)
        guard status == Z_OK else { throw .corrupt("inflateInit2 failed (\(status))") }
        open = true
    }

    deinit { if open { inflateEnd(&stream) } }

    /// Inflates from `input` into `output`; returns (bytes of input consumed, bytes of output made).
    /// Stops when `output` is full, `input` is used up or the stream ends (then `finished` is set and
    /// the output must be exactly the expected length).
    func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(InflateFailure) -> (consumed: Int, produced: Int) {
        guard !finished else { return (0, 0) }
        let inputCount = min(input.count, Int(UInt32.max))
        let outputCount = min(output.count, Int(UInt32.max), remainingOutput + 1)
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = UInt32(inputCount)
        stream.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = UInt32(outputCount)
        let status = CZlib.inflate(&stream, Z_NO_FLUSH)
        let consumed = inputCount - Int(stream.avail_in)
        let produced = outputCount - Int(stream.avail_out)
        switch status {
        case Z_OK, Z_BUF_ERROR:
            break
        case Z_STREAM_END:
            finished = true
        default:
            throw .corrupt(stream.msg.map { String(cString: $0) } ?? "zlib status \(status)")
        }
        guard produced <= remainingOutput else { throw .longerThanDeclared }
        remainingOutput -= produced
        if finished, remainingOutput > 0 { throw .endedEarly(produced: produced) }
        return (consumed, produced)
    }
}

/// A gzip (or plain) file read at offsets of its decompressed content (zlib's gz API reads plain
/// files as they are); seeking backwards restarts the stream.
public final class GzipFile {
    /// Why a gzip file could not be read, to be named by the caller.
    public struct Failure: Error, Equatable {
        public let path: String
        public let problem: String
    }

    public let path: String
    private let file: gzFile

    public init(_ path: String) throws(Failure) {
        self.path = path
        guard let file = gzopen(path, "rb") else { throw Failure(path: path, problem: "cannot open") }
        self.file = file
    }

    deinit { gzclose(file) }

    /// Exactly `count` bytes at decompressed offset `offset`.
    public func read(count: Int, at offset: Int) throws(Failure) -> [UInt8] {
        guard gzseek(file, offset, SEEK_SET) == offset else {
            throw Failure(path: path, problem: "shorter than its header says, or not a readable gzip stream")
        }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { gzread(file, $0.baseAddress! + done, UInt32(min(count - done, 1 << 30))) }
            guard n > 0 else { throw Failure(path: path, problem: "shorter than its header says (truncated?)") }
            done += Int(n)
        }
        return bytes
    }
}
