import Checkpoint
import Foundation

/// Samples and their integer labels, read a batch at a time so memory does not grow with the set.
public protocol LabeledData: AnyObject {
    /// What the user named (for messages).
    var path: String { get }
    /// Every file the samples and labels are read from (hashed into the records).
    var files: [String] { get }
    /// The file the labels are read from (for messages about a label).
    var labelsPath: String { get }
    var count: Int { get }
    /// Shape of one sample.
    var sampleShape: [Int] { get }
    /// Samples `range` (row-major, as float32, unscaled) and their labels.
    func batch(_ range: Range<Int>) throws -> (x: [Float], y: [Int])
    /// The labels alone: a requirement, so formats that can skip the samples do (HDF5, IDX).
    func labelsOnly(_ range: Range<Int>) throws -> (Void, [Int])
}

/// Data whose samples may be bytes: whole numbers from 0 to 255, as a uint8 dataset stores spike
/// trains. As bytes they take a quarter of the memory of float32 and need no conversion.
public protocol ByteData: LabeledData {
    /// Whether the samples are bytes, which `byteBatch` reads.
    var holdsBytes: Bool { get }
    /// Samples `range` as bytes (row-major, unscaled: `batch` gives each as `Float(byte)`) and their labels.
    func byteBatch(_ range: Range<Int>) throws -> (x: [UInt8], y: [Int])
}

/// Opens `--data` specifications: `FILE.h5[:X,Y]` (HDF5 datasets, default `x` and `y`),
/// `X.npy:Y.npy` (NumPy arrays), and `IMAGES.idx3-ubyte[.gz]:LABELS.idx1-ubyte[.gz]` (MNIST IDX).
/// With `spikeTrains`, the HDF5 samples dataset is shaped `[T, N, ...]` (time first).
public enum DataSource {
    public static func open(_ specification: String, spikeTrains: Bool = false) throws -> any LabeledData {
        let (file, rest) = split(specification)
        guard FileManager.default.fileExists(atPath: file) else { throw EngineError.data(path: file, problem: "no such file") }
        try requireRegularFile(file)
        if HDF5ArrayFile.isHDF5(file) {
            let names = rest.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? ["x", "y"]
            guard names.count == 2, !names[0].isEmpty, !names[1].isEmpty else {
                throw EngineError.data(path: file, problem: "name the datasets as FILE:X,Y (got '\(rest ?? "")')")
            }
            if spikeTrains { return try SpikeTrainData(path: file, features: names[0], labels: names[1]) }
            return try HDF5Data(path: file, features: names[0], labels: names[1])
        }
        if spikeTrains { throw EngineError.data(path: file, problem: "spike trains are read from an HDF5 dataset shaped [steps, samples, ...]") }
        guard let labels = rest else {
            throw EngineError.data(path: file, problem: "give the labels file too: X.npy:Y.npy or IMAGES.idx3-ubyte.gz:LABELS.idx1-ubyte.gz")
        }
        try requireRegularFile(labels)
        if file.hasSuffix(".npy") { return try NPYData(features: file, labels: labels) }
        return try IDXData(images: file, labels: labels)
    }

    /// A FIFO would block the run in open(2) until something wrote to it, and a device has no size:
    /// data files must be regular files (or symbolic links to them).
    private static func requireRegularFile(_ path: String) throws {
        if let kind = RegularFile.irregularKind(at: path) { throw EngineError.data(path: path, problem: "it is \(kind), not a regular file") }
    }

    /// `a:b` → (a, b); a path with no ':' → (path, nil).
    private static func split(_ text: String) -> (String, String?) {
        guard let colon = text.lastIndex(of: ":"), !FileManager.default.fileExists(atPath: text) else { return (text, nil) }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}

/// The samples of a data set whose labels are in (or not in) a set of classes, by index.
public struct Split: Sendable {
    public let name: String
    /// Strictly increasing: batches are read in file order, each sample once.
    public let indices: [Int]

    public init(name: String, indices: [Int]) {
        precondition(zip(indices, indices.dropFirst()).allSatisfy { $0 < $1 }, "split '\(name)': indices must be strictly increasing")
        self.name = name
        self.indices = indices
    }

    /// Reads every label once (in batches) and keeps the indices that `keep` accepts.
    public static func select(_ data: any LabeledData, name: String, keep: (Int, Int) -> Bool) throws -> Split {
        var indices: [Int] = []
        try forEachLabel(of: data) { index, label in if keep(index, label) { indices.append(index) } }
        return Split(name: name, indices: indices)
    }

    /// Calls `body(index, label)` for every sample, reading the labels alone, in batches.
    public static func forEachLabel(of data: any LabeledData, _ body: (Int, Int) throws -> Void) throws {
        for start in stride(from: 0, to: data.count, by: 4096) {
            let (_, labels) = try data.labelsOnly(start..<min(start + 4096, data.count))
            for (offset, label) in labels.enumerated() { try body(start + offset, label) }
        }
    }
}

extension LabeledData {
    /// One file holds both (HDF5).
    public var files: [String] { [path] }
    public var labelsPath: String { files.last ?? path }

    /// Labels of a range (the default reads the samples too).
    func labelsOnly(_ range: Range<Int>) throws -> (Void, [Int]) { ((), try batch(range).y) }
}
