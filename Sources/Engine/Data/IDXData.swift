internal import CZlib
import Foundation

/// MNIST's IDX files (gzipped or not; zlib reads plain files as they are): big-endian magic
/// 0x0000 08 dd (unsigned bytes, dd axes), dd big-endian sizes, then the bytes. Read a batch at a
/// time through zlib's seekable stream, so memory does not grow with the file.
final class IDXData: LabeledData {
    let path: String
    let files: [String]
    let count: Int
    let sampleShape: [Int]
    private let images: GzipFile, labels: GzipFile
    private let imageOffset: Int, labelOffset: Int

    init(images imagePath: String, labels labelPath: String) throws {
        path = imagePath
        files = [imagePath, labelPath]
        images = try GzipFile(imagePath)
        labels = try GzipFile(labelPath)
        let imageShape = try Self.header(images)
        let labelShape = try Self.header(labels)
        guard labelShape.count == 1, labelShape[0] == imageShape[0] else {
            throw EngineError.data(path: labelPath, problem: "labels of shape \(labelShape) for \(imageShape[0]) images")
        }
        imageOffset = 4 + 4 * imageShape.count
        labelOffset = 8
        count = imageShape[0]
        sampleShape = Array(imageShape.dropFirst())
    }

    func batch(_ range: Range<Int>) throws -> (x: [Float], y: [Int]) {
        let width = sampleShape.reduce(1, *)
        let x = try images.read(count: range.count * width, at: imageOffset + range.lowerBound * width).map(Float.init)
        return (x, try labelsOnly(range).1)
    }

    func labelsOnly(_ range: Range<Int>) throws -> (Void, [Int]) {
        ((), try labels.read(count: range.count, at: labelOffset + range.lowerBound).map(Int.init))
    }

    /// The axis sizes of an unsigned-byte IDX file.
    private static func header(_ file: GzipFile) throws -> [Int] {
        let magic = try file.read(count: 4, at: 0)
        guard magic[0] == 0, magic[1] == 0, magic[2] == 0x08, (1...4).contains(magic[3]) else {
            throw EngineError.data(path: file.path, problem: "not an unsigned-byte IDX file (bad magic)")
        }
        let sizes = try file.read(count: 4 * Int(magic[3]), at: 4)
        return (0..<Int(magic[3])).map { a in (0..<4).reduce(0) { $0 << 8 | Int(sizes[4 * a + $1]) } }
    }
}

/// A gzip (or plain) file read at offsets of its decompressed content.
private final class GzipFile {
    let path: String
    private let file: gzFile

    init(_ path: String) throws {
        self.path = path
        guard let file = gzopen(path, "rb") else { throw EngineError.data(path: path, problem: "cannot open") }
        self.file = file
    }

    deinit { gzclose(file) }

    /// Exactly `count` bytes at decompressed offset `offset` (seeking backwards restarts the stream).
    func read(count: Int, at offset: Int) throws -> [UInt8] {
        guard gzseek(file, offset, SEEK_SET) == offset else {
            throw EngineError.data(path: path, problem: "shorter than its header says, or not a readable gzip stream")
        }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { gzread(file, $0.baseAddress! + done, UInt32(min(count - done, 1 << 30))) }
            guard n > 0 else { throw EngineError.data(path: path, problem: "shorter than its header says (truncated?)") }
            done += Int(n)
        }
        return bytes
    }
}
