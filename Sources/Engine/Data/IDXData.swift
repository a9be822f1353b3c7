import Checkpoint
import Foundation

/// A validated IDX header of unsigned bytes (MNIST): big-endian magic 0x0000 08 dd (dd axes, 1 to
/// 4), then dd big-endian 32-bit sizes; one `IDXProblem` per rule, sizes multiplied with overflow checks.
struct IDXHeader: Equatable {
    let shape: [Int]
    /// Where the bytes begin.
    var dataOffset: Int { 4 + 4 * shape.count }
    /// Bytes after the first axis: one sample.
    let sampleBytes: Int

    /// `magic` is the first 4 bytes; `sizes` reads the next 4·dd bytes.
    init(magic: [UInt8], sizes: (Int) throws -> [UInt8]) throws {
        guard magic.count == 4, magic[0] == 0, magic[1] == 0 else { throw IDXProblem.badMagic }
        guard magic[2] == 0x08 else { throw IDXProblem.notUnsignedBytes(typeCode: magic[2]) }
        guard (1...4).contains(magic[3]) else { throw IDXProblem.badRank(Int(magic[3])) }
        let rank = Int(magic[3])
        let bytes = try sizes(4 * rank)
        let shape = (0..<rank).map { a in (0..<4).reduce(0) { $0 << 8 | Int(bytes[4 * a + $1]) } }
        // One sample's bytes first: with no samples the whole product is 0 whatever a sample's size.
        var sample = 1
        for dim in shape.dropFirst() {
            let (product, overflow) = sample.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw IDXProblem.sizeOverflow(shape) }
            sample = product
        }
        let (total, overflow) = shape[0].multipliedReportingOverflow(by: sample)
        guard !overflow, !(4 + 4 * rank).addingReportingOverflow(total).overflow else { throw IDXProblem.sizeOverflow(shape) }
        self.shape = shape
        sampleBytes = sample
    }
}

/// One case per rule an IDX header must satisfy.
public enum IDXProblem: Error, Equatable, CustomStringConvertible, Sendable {
    case badMagic
    case notUnsignedBytes(typeCode: UInt8)
    case badRank(Int)
    case sizeOverflow([Int])
    case labelsNotOneAxis([Int])
    case countMismatch(images: Int, labels: Int)

    public var description: String {
        switch self {
        case .badMagic: "not an IDX file (bad magic; expected 0x00 0x00 0x08 dd)"
        case .notUnsignedBytes(let code): "IDX type code 0x\(String(code, radix: 16)): only unsigned bytes (0x08) are read"
        case .badRank(let rank): "IDX file with \(rank) axes (expected 1 to 4)"
        case .sizeOverflow(let shape): "IDX sizes \(shape): their product overflows (too many bytes to address)"
        case .labelsNotOneAxis(let shape): "labels of shape \(shape): expected one axis"
        case .countMismatch(let images, let labels): "\(labels) labels for \(images) images"
        }
    }
}

/// MNIST's IDX files (gzipped or not; zlib reads plain files as they are), read a batch at a time
/// through `GzipFile` (Checkpoint's door to zlib), so memory does not grow with the file.
final class IDXData: LabeledData {
    let path: String
    let files: [String]
    let count: Int
    let sampleShape: [Int]
    private let images: GzipFile, labels: GzipFile
    private let imageHeader: IDXHeader, labelHeader: IDXHeader

    init(images imagePath: String, labels labelPath: String) throws {
        path = imagePath
        files = [imagePath, labelPath]
        do {
            images = try GzipFile(imagePath)
            labels = try GzipFile(labelPath)
        } catch {
            throw EngineError.data(path: error.path, problem: error.problem)
        }
        imageHeader = try Self.header(images)
        labelHeader = try Self.header(labels)
        guard labelHeader.shape.count == 1 else { throw EngineError.idx(path: labelPath, .labelsNotOneAxis(labelHeader.shape)) }
        guard labelHeader.shape[0] == imageHeader.shape[0] else {
            throw EngineError.idx(path: labelPath, .countMismatch(images: imageHeader.shape[0], labels: labelHeader.shape[0]))
        }
        count = imageHeader.shape[0]
        sampleShape = Array(imageHeader.shape.dropFirst())
    }

    func batch(_ range: Range<Int>) throws -> (x: [Float], y: [Int]) {
        let width = imageHeader.sampleBytes
        let x = try Self.reading { try images.read(count: range.count * width, at: imageHeader.dataOffset + range.lowerBound * width) }.map(Float.init)
        return (x, try labelsOnly(range).1)
    }

    func labelsOnly(_ range: Range<Int>) throws -> (Void, [Int]) {
        ((), try Self.reading { try labels.read(count: range.count, at: labelHeader.dataOffset + range.lowerBound) }.map(Int.init))
    }

    /// A gzip read whose failure is reported as the engine's data error.
    private static func reading(_ body: () throws -> [UInt8]) throws -> [UInt8] {
        do { return try body() } catch let failure as GzipFile.Failure { throw EngineError.data(path: failure.path, problem: failure.problem) }
    }

    private static func header(_ file: GzipFile) throws -> IDXHeader {
        do {
            return try IDXHeader(magic: try reading { try file.read(count: 4, at: 0) }) { count in try reading { try file.read(count: count, at: 4) } }
        } catch let problem as IDXProblem {
            throw EngineError.idx(path: file.path, problem)
        }
    }
}
