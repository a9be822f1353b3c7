/// Samples and labels held in memory: a data set built in code, or another one read whole (the
/// benchmark times the engine without the reading).
public final class ArrayData: LabeledData {
    public let path: String
    public let count: Int
    public let sampleShape: [Int]
    private let x: [Float], y: [Int]

    /// `x` holds the samples row by row (`sampleShape` each), `y` one label per sample.
    public init(path: String, x: [Float], y: [Int], sampleShape: [Int]) {
        precondition(x.count == y.count * sampleShape.reduce(1, *), "\(x.count) values for \(y.count) samples of shape \(sampleShape)")
        (self.path, self.x, self.y, self.sampleShape, count) = (path, x, y, sampleShape, y.count)
    }

    /// All of `source`, read at once.
    public convenience init(reading source: any LabeledData) throws {
        let (x, y) = try source.batch(0..<source.count)
        self.init(path: source.path, x: x, y: y, sampleShape: source.sampleShape)
    }

    public func batch(_ range: Range<Int>) throws -> (x: [Float], y: [Int]) {
        let width = sampleShape.reduce(1, *)
        return (Array(x[(range.lowerBound * width)..<(range.upperBound * width)]), Array(y[range]))
    }

    public func labelsOnly(_ range: Range<Int>) throws -> (Void, [Int]) { ((), Array(y[range])) }
}

/// Samples of bytes held in memory (spike trains read whole, as the benchmark holds them):
/// `byteBatch` hands out the bytes, `batch` their values as floats.
public final class ByteArrayData: ByteData {
    public let path: String
    public let count: Int
    public let sampleShape: [Int]
    public var holdsBytes: Bool { true }
    private let x: [UInt8], y: [Int]

    /// `x` holds the samples row by row (`sampleShape` each), `y` one label per sample.
    public init(path: String, x: [UInt8], y: [Int], sampleShape: [Int]) {
        precondition(x.count == y.count * sampleShape.reduce(1, *), "\(x.count) values for \(y.count) samples of shape \(sampleShape)")
        (self.path, self.x, self.y, self.sampleShape, count) = (path, x, y, sampleShape, y.count)
    }

    /// All of `source` (which holds bytes), read at once.
    public convenience init(reading source: any ByteData) throws {
        let (x, y) = try source.byteBatch(0..<source.count)
        self.init(path: source.path, x: x, y: y, sampleShape: source.sampleShape)
    }

    public func batch(_ range: Range<Int>) throws -> (x: [Float], y: [Int]) {
        let (x, y) = try byteBatch(range)
        return (x.map(Float.init), y)
    }

    public func byteBatch(_ range: Range<Int>) throws -> (x: [UInt8], y: [Int]) {
        let width = sampleShape.reduce(1, *)
        return (Array(x[(range.lowerBound * width)..<(range.upperBound * width)]), Array(y[range]))
    }

    public func labelsOnly(_ range: Range<Int>) throws -> (Void, [Int]) { ((), Array(y[range])) }
}
