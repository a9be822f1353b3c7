import Foundation

/// A NumPy `.npy` array (C order, little-endian or single-byte numbers), read a range of rows at a time.
struct NPYArray {
    let path: String
    let header: NPYHeader
    private let handle: FileHandle

    var shape: [Int] { header.shape }

    init(path: String) throws {
        self.path = path
        guard let handle = FileHandle(forReadingAtPath: path) else { throw EngineError.data(path: path, problem: "cannot open") }
        self.handle = handle
        let size = Int((try? handle.seekToEnd()) ?? 0)
        try handle.seek(toOffset: 0)
        var prefix = [UInt8](try handle.read(upToCount: 12) ?? Data())
        do {
            // Read the whole header: its length is in the prefix (checked before reading it).
            if prefix.count >= 10, prefix[0] == 0x93 {
                let start = NPYHeader.prefixLength(version: prefix[6])
                let length = prefix.count < start ? 0 : start == 10 ? Int(prefix[8]) | Int(prefix[9]) << 8
                    : Int(prefix[8]) | Int(prefix[9]) << 8 | Int(prefix[10]) << 16 | Int(prefix[11]) << 24
                if length <= NPYHeader.maximumHeaderLength, start + length > prefix.count {
                    prefix += [UInt8](try handle.read(upToCount: start + length - prefix.count) ?? Data())
                }
            }
            header = try NPYHeader(prefix, fileSize: size)
        } catch let problem as NPYProblem {
            throw EngineError.npy(path: path, problem)
        }
        guard !header.shape.isEmpty else { throw EngineError.data(path: path, problem: "a 0-d array has no samples") }
    }

    /// Rows `range` (first axis), converted to Double.
    func rows(_ range: Range<Int>) throws -> [Double] {
        let width = header.rowElements
        let size = header.element.size
        try handle.seek(toOffset: UInt64(header.dataOffset + range.lowerBound * width * size))
        let bytes = try handle.read(upToCount: range.count * width * size) ?? Data()
        guard bytes.count == range.count * width * size else { throw EngineError.data(path: path, problem: "short read (file changed?)") }
        return bytes.withUnsafeBytes { raw in
            (0..<(range.count * width)).map { i in
                switch header.element {
                case .float32: Double(raw.loadUnaligned(fromByteOffset: 4 * i, as: Float.self))
                case .float64: raw.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)
                case .uint8: Double(raw[i])
                case .int8: Double(Int8(bitPattern: raw[i]))
                case .int16: Double(raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))
                case .uint16: Double(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                case .int32: Double(raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
                case .uint32: Double(raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                case .int64: Double(raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                case .uint64: Double(raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                }
            }
        }
    }
}

/// A data set as two `.npy` files: samples and labels.
final class NPYData: LabeledData {
    let path: String
    let files: [String]
    let count: Int
    let sampleShape: [Int]
    private let features: NPYArray, labels: NPYArray

    init(features: String, labels: String) throws {
        path = features
        files = [features, labels]
        self.features = try NPYArray(path: features)
        self.labels = try NPYArray(path: labels)
        guard self.labels.shape.count == 1, self.labels.shape[0] == self.features.shape[0] else {
            throw EngineError.data(path: labels, problem: "labels of shape \(self.labels.shape) for \(self.features.shape[0]) samples")
        }
        count = self.features.shape[0]
        sampleShape = Array(self.features.shape.dropFirst())
    }

    func batch(_ range: Range<Int>) throws -> (x: [Float], y: [Int]) {
        (try features.rows(range).map(Float.init), try labelsOnly(range).1)
    }

    /// Labels must be whole numbers (float labels too: NaN, infinities and fractions are refused).
    func labelsOnly(_ range: Range<Int>) throws -> (Void, [Int]) {
        let values = try labels.rows(range)
        return ((), try values.enumerated().map { offset, value in
            guard let label = Int(exactly: value) else {
                throw EngineError.data(path: labels.path, problem: "label \(value) of sample \(range.lowerBound + offset) is not a whole number")
            }
            return label
        })
    }
}
