import Checkpoint

/// A data set in an HDF5 file: a samples dataset (first axis = sample) and a labels dataset; samples
/// stored as unsigned bytes (MNIST's images) can be read as bytes.
final class HDF5Data: ByteData {
    let path: String
    let count: Int
    let sampleShape: [Int]
    let holdsBytes: Bool
    private let file: HDF5ArrayFile
    private let features: String, labels: String

    init(path: String, features: String, labels: String) throws {
        self.path = path
        file = try HDF5ArrayFile(path: path)
        guard let shape = file.shape(of: features), !shape.isEmpty else {
            throw EngineError.data(path: path, problem: "no numeric dataset '\(features)' (name others as \(path):X,Y)")
        }
        guard let labelShape = file.shape(of: labels), labelShape.count == 1 || (labelShape.count == 2 && labelShape[1] == 1) else {
            throw EngineError.data(path: path, problem: "no one-dimensional label dataset '\(labels)' (name others as \(path):X,Y)")
        }
        guard labelShape[0] == shape[0] else {
            throw EngineError.data(path: path, problem: "'\(features)' has \(shape[0]) samples but '\(labels)' has \(labelShape[0]) labels")
        }
        // One sample's size must fit even with no samples, whose product is 0 whatever a sample holds.
        var width = 1
        for size in shape.dropFirst() {
            let (product, overflow) = width.multipliedReportingOverflow(by: size)
            guard !overflow else {
                throw EngineError.data(path: path, problem: "'\(features)' has samples of shape \(Array(shape.dropFirst())), which overflows: too many values to address")
            }
            width = product
        }
        count = shape[0]
        sampleShape = Array(shape.dropFirst())
        self.features = features
        self.labels = labels
        holdsBytes = file.storesBytes(features)
    }

    func batch(_ range: Range<Int>) throws -> (x: [Float], y: [Int]) {
        (try file.readRows(features, range), try file.readLabels(labels, range))
    }

    func byteBatch(_ range: Range<Int>) throws -> (x: [UInt8], y: [Int]) {
        (try file.readRowBytes(features, range), try file.readLabels(labels, range))
    }

    func labelsOnly(_ range: Range<Int>) throws -> (Void, [Int]) { ((), try file.readLabels(labels, range)) }
}
