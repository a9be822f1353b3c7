internal import CZlib
import Foundation

/// MNIST's IDX files (gzipped or not): big-endian magic 0x0000 08 dd (unsigned bytes, dd axes),
/// dd big-endian sizes, then the bytes. Read once into memory: the MNIST sets are a few MB.
final class IDXData: LabeledData {
    let path: String
    let count: Int
    let sampleShape: [Int]
    private let images: [UInt8], labels: [UInt8]
    private let imageOffset: Int, labelOffset: Int

    init(images: String, labels: String) throws {
        path = images
        let imageBytes = try Self.read(images), labelBytes = try Self.read(labels)
        let imageShape = try Self.header(imageBytes, path: images)
        let labelShape = try Self.header(labelBytes, path: labels)
        guard labelShape.count == 1, labelShape[0] == imageShape[0] else {
            throw EngineError.data(path: labels, problem: "labels of shape \(labelShape) for \(imageShape[0]) images")
        }
        self.images = imageBytes
        self.labels = labelBytes
        imageOffset = 4 + 4 * imageShape.count
        labelOffset = 8
        count = imageShape[0]
        sampleShape = Array(imageShape.dropFirst())
        guard imageBytes.count >= imageOffset + imageShape.reduce(1, *), labelBytes.count >= labelOffset + count else {
            throw EngineError.data(path: images, problem: "shorter than its header says (truncated?)")
        }
    }

    func batch(_ range: Range<Int>) throws -> (x: [Float], y: [Int]) {
        let width = sampleShape.reduce(1, *)
        let x = images[(imageOffset + range.lowerBound * width)..<(imageOffset + range.upperBound * width)].map(Float.init)
        return (x, labels[(labelOffset + range.lowerBound)..<(labelOffset + range.upperBound)].map(Int.init))
    }

    /// The axis sizes of an unsigned-byte IDX file.
    private static func header(_ bytes: [UInt8], path: String) throws -> [Int] {
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0, bytes[2] == 0x08, (1...4).contains(bytes[3]) else {
            throw EngineError.data(path: path, problem: "not an unsigned-byte IDX file (bad magic)")
        }
        let axes = Int(bytes[3])
        guard bytes.count >= 4 + 4 * axes else { throw EngineError.data(path: path, problem: "truncated IDX header") }
        return (0..<axes).map { a in (0..<4).reduce(0) { $0 << 8 | Int(bytes[4 + 4 * a + $1]) } }
    }

    /// The whole file, inflated through zlib when it is gzipped (zlib reads plain files as they are).
    private static func read(_ path: String) throws -> [UInt8] {
        guard let file = gzopen(path, "rb") else { throw EngineError.data(path: path, problem: "cannot open") }
        defer { gzclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = gzread(file, &chunk, UInt32(chunk.count))
            guard n >= 0 else { throw EngineError.data(path: path, problem: "not a readable gzip stream") }
            if n == 0 { break }
            bytes += chunk[0..<Int(n)]
        }
        return bytes
    }
}
