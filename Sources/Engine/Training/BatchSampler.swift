import Foundation

/// Batches of one data part for training, in an order fixed by a seed: each epoch is the part's
/// samples shuffled anew (SplitMix64, Fisher–Yates), cut into batches of `size` (the last of an
/// epoch may be smaller). The same seed gives the same batches on every machine.
public struct BatchSampler {
    public let part: DataPart
    public let size: Int
    /// The sample shape the model takes (the data's samples are reshaped to it).
    public let sampleShape: [Int]
    private var random: SplitMix64
    private let shuffle: Bool
    private var order: [Int] = []
    private var cursor = 0
    public private(set) var epoch = 0

    public init(part: DataPart, size: Int, sampleShape: [Int], seed: UInt64, shuffle: Bool = true) {
        precondition(size > 0, "batch size must be positive")
        self.part = part
        self.size = size
        self.sampleShape = sampleShape
        random = SplitMix64(seed: seed)
        self.shuffle = shuffle
    }

    /// The next batch and its labels (throws on an empty part).
    public mutating func next() throws -> (batch: Batch, labels: [Int]) {
        guard part.count > 0 else { throw EngineError.data(path: part.data.path, problem: "no samples to train on in split '\(part.split.name)'") }
        if cursor >= order.count {
            order = shuffle ? part.split.indices.shuffled(by: &random) : part.split.indices
            cursor = 0
            epoch += 1
        }
        let indices = Array(order[cursor..<min(cursor + size, order.count)])
        cursor += indices.count
        return try part.samples(indices, shape: sampleShape)
    }
}

extension DataPart {
    /// The samples at `indices` (any order, scaled) as one batch shaped `[n] + shape`, with their
    /// labels: contiguous runs of the sorted indices are read at once.
    public func samples(_ indices: [Int], shape: [Int]) throws -> (batch: Batch, labels: [Int]) {
        let width = shape.reduce(1, *)
        guard data.sampleShape.reduce(1, *) == width else {
            throw EngineError.data(path: data.path, problem: "samples of shape \(data.sampleShape) do not fit the model's input \(shape)")
        }
        var rows: [Int: (x: ArraySlice<Float>, y: Int)] = [:]
        let sorted = indices.sorted()
        var start = 0
        while start < sorted.count {
            var end = start
            while end + 1 < sorted.count, sorted[end + 1] == sorted[end] + 1 || sorted[end + 1] == sorted[end] { end += 1 }
            let range = sorted[start]..<(sorted[end] + 1)
            let (x, y) = try data.batch(range)
            for (offset, index) in range.enumerated() { rows[index] = (x[(offset * width)..<((offset + 1) * width)], y[offset]) }
            start = end + 1
        }
        var values: [Float] = []
        values.reserveCapacity(indices.count * width)
        var labels: [Int] = []
        for index in indices {
            values += rows[index]!.x
            labels.append(rows[index]!.y)
        }
        if scale != 1 { values.withUnsafeMutableBufferPointer { v in for i in v.indices { v[i] *= scale } } }
        return (Batch(values: values, shape: [indices.count] + shape), labels)
    }
}
