import Foundation

/// A NumPy `.npy` array (format 1.0–3.0, C order, little-endian or single-byte numbers).
struct NPYArray {
    enum Element: Sendable { case float32, float64, uint8, int8, int32, int64, uint16, int16, uint32, uint64 }

    let path: String
    let shape: [Int]
    let element: Element
    let dataOffset: Int
    private let handle: FileHandle

    var elementSize: Int {
        switch element {
        case .uint8, .int8: 1
        case .uint16, .int16: 2
        case .float32, .int32, .uint32: 4
        case .float64, .int64, .uint64: 8
        }
    }

    init(path: String) throws {
        self.path = path
        guard let handle = FileHandle(forReadingAtPath: path) else { throw EngineError.data(path: path, problem: "cannot open") }
        self.handle = handle
        let prefix = [UInt8](try handle.read(upToCount: 12) ?? Data())
        guard prefix.count >= 10, prefix[0] == 0x93, Array(prefix[1..<6]) == Array("NUMPY".utf8), (1...3).contains(prefix[6]) else {
            throw EngineError.data(path: path, problem: "not a NumPy .npy file (bad magic)")
        }
        let wide = prefix[6] >= 2
        guard !wide || prefix.count >= 12 else { throw EngineError.data(path: path, problem: "truncated .npy header") }
        let headerLength = wide ? Int(prefix[8]) | Int(prefix[9]) << 8 | Int(prefix[10]) << 16 | Int(prefix[11]) << 24 : Int(prefix[8]) | Int(prefix[9]) << 8
        let start = wide ? 12 : 10
        guard headerLength < 1 << 20 else { throw EngineError.data(path: path, problem: "implausible .npy header length \(headerLength)") }
        try handle.seek(toOffset: UInt64(start))
        let header = String(decoding: try handle.read(upToCount: headerLength) ?? Data(), as: UTF8.self)
        dataOffset = start + headerLength
        guard let descr = Self.field("descr", in: header), let shapeText = Self.field("shape", in: header) else {
            throw EngineError.data(path: path, problem: "no descr or shape in the .npy header")
        }
        guard Self.field("fortran_order", in: header) == "False" else {
            throw EngineError.data(path: path, problem: "Fortran-ordered arrays are not supported (save with numpy.ascontiguousarray)")
        }
        let code = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        let table: [String: Element] = ["<f4": .float32, "<f8": .float64, "|u1": .uint8, "|i1": .int8, "<i4": .int32, "<i8": .int64,
                                        "<u2": .uint16, "<i2": .int16, "<u4": .uint32, "<u8": .uint64]
        guard let element = table[code] else { throw EngineError.data(path: path, problem: "unsupported dtype \(code) (expected little-endian numbers)") }
        self.element = element
        let digits = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "()")).split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let shape = Optional(digits.compactMap { Int($0) }), shape.count == digits.count, !shape.isEmpty else {
            throw EngineError.data(path: path, problem: "bad shape \(shapeText) in the .npy header")
        }
        self.shape = shape
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size >= dataOffset + shape.reduce(1, *) * elementSize else {
            throw EngineError.data(path: path, problem: "file is shorter than its shape \(shape) needs (truncated?)")
        }
    }

    /// The value of `key` in the header dict, as text.
    private static func field(_ key: String, in header: String) -> String? {
        guard let range = header.range(of: "'\(key)':") else { return nil }
        let rest = header[range.upperBound...].trimmingCharacters(in: .whitespaces)
        if rest.hasPrefix("(") { return rest.firstIndex(of: ")").map { String(rest[...$0]) } }
        return rest.split(separator: ",", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// Rows `range` (first axis), converted to Double.
    func rows(_ range: Range<Int>) throws -> [Double] {
        let width = shape.dropFirst().reduce(1, *)
        try handle.seek(toOffset: UInt64(dataOffset + range.lowerBound * width * elementSize))
        let bytes = try handle.read(upToCount: range.count * width * elementSize) ?? Data()
        guard bytes.count == range.count * width * elementSize else { throw EngineError.data(path: path, problem: "short read") }
        return bytes.withUnsafeBytes { raw in
            (0..<(range.count * width)).map { i in
                switch element {
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
        (try features.rows(range).map(Float.init), try labels.rows(range).map { Int($0) })
    }
}
