import Checkpoint

/// Spike trains in an HDF5 dataset shaped `[T, N, ...]` (time first, as snnTorch's `spikegen` and
/// tonic's frames are stacked) with labels `[N]`: sample n is its T steps, read a range of samples
/// at a time and handed out sample by sample (`sampleShape` = `[T, ...]`), as bytes when the
/// dataset stores unsigned 8-bit integers.
final class SpikeTrainData: ByteData {
    let path: String
    let count: Int
    let sampleShape: [Int]
    let holdsBytes: Bool
    private let file: HDF5ArrayFile
    private let features: String, labels: String

    init(path: String, features: String, labels: String) throws {
        self.path = path
        file = try HDF5ArrayFile(path: path)
        guard let shape = file.shape(of: features), shape.count >= 3 else {
            throw EngineError.data(path: path, problem: "no numeric dataset '\(features)' shaped [steps, samples, ...] for spike trains (name others as \(path):X,Y)")
        }
        guard let labelShape = file.shape(of: labels), labelShape.count == 1 || (labelShape.count == 2 && labelShape[1] == 1) else {
            throw EngineError.data(path: path, problem: "no one-dimensional label dataset '\(labels)' (name others as \(path):X,Y)")
        }
        guard labelShape[0] == shape[1] else {
            throw EngineError.data(path: path, problem: "'\(features)' holds \(shape[1]) samples (its second axis) but '\(labels)' has \(labelShape[0]) labels")
        }
        count = shape[1]
        sampleShape = [shape[0]] + shape.dropFirst(2)
        self.features = features
        self.labels = labels
        holdsBytes = file.storesBytes(features)
    }

    func batch(_ range: Range<Int>) throws -> (x: [Float], y: [Int]) {
        (sampleMajor(try file.readColumns(features, range), samples: range.count), try file.readLabels(labels, range))
    }

    func byteBatch(_ range: Range<Int>) throws -> (x: [UInt8], y: [Int]) {
        (sampleMajor(try file.readColumnBytes(features, range), samples: range.count), try file.readLabels(labels, range))
    }

    /// `[T][n][...]` as the file holds it, rearranged to `[n][T][...]`.
    private func sampleMajor<Value: ExpressibleByIntegerLiteral>(_ timeMajor: [Value], samples n: Int) -> [Value] {
        let steps = sampleShape[0], width = sampleShape.dropFirst().reduce(1, *)
        var x = [Value](repeating: 0, count: timeMajor.count)
        for t in 0..<steps {
            for s in 0..<n {
                for j in 0..<width { x[(s * steps + t) * width + j] = timeMajor[(t * n + s) * width + j] }
            }
        }
        return x
    }

    func labelsOnly(_ range: Range<Int>) throws -> (Void, [Int]) { ((), try file.readLabels(labels, range)) }
}
