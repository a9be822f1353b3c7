import Foundation
import Testing
@testable import Engine

/// The three data formats hold the same MNIST samples (Fixtures/engine): HDF5 (h5py), NumPy
/// (numpy.save) and IDX (the real MNIST files' first 100 records, gzipped).
@Suite struct DataTests {
    @Test func formatsAgree() throws {
        let hdf5 = try DataSource.open(ForwardTests.path("engine/test_data.h5:x_flat,labels"))
        let images = try DataSource.open(ForwardTests.path("engine/test_data.h5"))
        let npy = try DataSource.open(ForwardTests.path("engine/x_small.npy") + ":" + ForwardTests.path("engine/y_small.npy"))
        #expect(hdf5.count == 200 && hdf5.sampleShape == [784] && images.sampleShape == [28, 28, 1])
        #expect(npy.count == 50 && npy.sampleShape == [784])
        let (a, labels) = try hdf5.batch(0..<50)
        let (b, same) = try images.batch(0..<50)
        let (c, npyLabels) = try npy.batch(0..<50)
        #expect(a == b && labels == same && labels == npyLabels)
        #expect(zip(a, c).allSatisfy { abs($0 / 255 - $1) < 1e-7 })  // x_small is x_flat / 255 in float32
        // Bytes are widened by the reader, not libhdf5: samples 3 and 4 sum to 23,421 and 19,570
        // with 254 pixels lit between them; sample 3's brightest, 254, is pixel 180 (numpy on h5py's bytes).
        let rows = Array(a[(3 * 784)..<(5 * 784)])
        #expect(rows[..<784].reduce(0, +) == 23_421 && rows[784...].reduce(0, +) == 19_570)
        #expect(rows.filter { $0 != 0 }.count == 254 && rows[180] == 254)
    }

    @Test func idxReadsTheRealMNISTHeader() throws {
        let idx = try DataSource.open(ForwardTests.path("engine/mnist_head.idx3-ubyte.gz") + ":" + ForwardTests.path("engine/mnist_head.idx1-ubyte.gz"))
        #expect(idx.count == 100 && idx.sampleShape == [28, 28])
        let (x, y) = try idx.batch(0..<3)
        #expect(y == [7, 2, 1])  // the first three MNIST test labels
        #expect(x.count == 3 * 784 && x.allSatisfy { $0 >= 0 && $0 <= 255 } && x.contains { $0 == 255 })
    }

    @Test func aTruncatedIDXFileIsAClearError() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: ForwardTests.path("engine/mnist_head.idx3-ubyte.gz")))
        let cut = FileManager.default.temporaryDirectory.appendingPathComponent("cut-\(UUID().uuidString).idx3-ubyte.gz")
        try bytes.prefix(bytes.count / 2).write(to: cut)
        defer { try? FileManager.default.removeItem(at: cut) }
        let data = try DataSource.open(cut.path + ":" + ForwardTests.path("engine/mnist_head.idx1-ubyte.gz"))
        #expect(throws: EngineError.self) { try data.batch(90..<100) }  // the header is there, the last images are not
    }

    /// Found by `make fuzz` (idx-header): no samples, so the whole product is 0, but one sample's
    /// size overflows; reading the header trapped.
    @Test func idxSampleSizeThatOverflowsIsRefusedWithNoSamples() {
        let bytes: [UInt8] = [0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x27, 0x0f, 0x90, 0x4f,
                              0xd2, 0x7f, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]
        #expect(throws: IDXProblem.sizeOverflow([0, 0x0200_0000, 0x270f_904f, 0xd27f_0000])) {
            try IDXHeader(magic: Array(bytes[0..<4])) { Array(bytes[4..<(4 + $0)]) }
        }
    }

    /// Found beside the IDX case above: a `.npy` of no rows whose row size overflows passed the
    /// header and trapped where the engine sizes a sample (`ckptforget eval --data X.npy:Y.npy`).
    @Test func npyRowSizeThatOverflowsIsRefusedWithNoRows() throws {
        func npy(_ shape: String) -> [UInt8] {
            let dict = Array("{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }".utf8)
            return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(dict.count), 0] + dict
        }
        let bytes = npy("(0, 4294967296, 4294967296)")
        #expect(throws: NPYProblem.sizeOverflow([0, 4_294_967_296, 4_294_967_296])) { try NPYHeader(bytes, fileSize: bytes.count) }
        let empty = try NPYHeader(npy("(0, 3, 5)"), fileSize: 100)
        #expect(empty.count == 0 && empty.rowElements == 15)
    }

    @Test func badDataIsAClearError() throws {
        #expect(throws: EngineError.self) { try DataSource.open(ForwardTests.path("engine/test_data.h5:nope,labels")) }
        #expect(throws: EngineError.self) { try DataSource.open(ForwardTests.path("engine/x_small.npy")) }  // no labels file
        #expect(throws: EngineError.self) { try DataSource.open("/nonexistent.h5") }
        // Samples that do not fit the model's input.
        let network = try ForwardTests.network("keras/mnist_mlp.h5")
        let idx = try DataSource.open(ForwardTests.path("engine/mnist_head.idx3-ubyte.gz") + ":" + ForwardTests.path("engine/mnist_head.idx1-ubyte.gz"))
        #expect(throws: Never.self) { try NetworkRunner(network: network, data: idx, scale: 1) }  // 28×28 = 784 fits
        let cnn = try ForwardTests.network("engine/mnist_cnn.h5")
        let tiny = try DataSource.open(ForwardTests.path("engine/x_small.npy") + ":" + ForwardTests.path("engine/y_small.npy"))
        #expect(throws: Never.self) { try NetworkRunner(network: cnn, data: tiny, scale: 1) }
    }

    @Test func unsupportedLayersAreNamed() throws {
        // A Keras 3 weights file has no model_config: the engine cannot rebuild it, and says what to do.
        do {
            _ = try ForwardTests.network("keras/mnist_mlp.weights.h5")
            Issue.record("no error")
        } catch let error as EngineError {
            #expect("\(error)".contains("no Keras model_config") && "\(error)".contains("--stats"))
        }
    }
}

/// Batches cut from chunked reads: in order, every selected sample once, scaled, across the
/// 4096-row chunks, for contiguous runs and for gathered ones.
@Suite struct BatchingTests {
    @Test func batchesCoverTheSplitInOrder() throws {
        let network = try ForwardTests.network("keras/mnist_mlp.h5")
        let (count, width) = (9000, 784)
        var x = [Float](repeating: 0, count: count * width)
        for index in 0..<count { x[index * width] = Float(index); x[index * width + 1] = -Float(index) }
        let data = ArrayData(path: "memory", x: x, y: (0..<count).map { $0 % 10 }, sampleShape: [width])
        let runner = try NetworkRunner(network: network, data: data, scale: 0.5)
        let indices = Array(0..<5000) + stride(from: 5000, to: count, by: 3)  // a contiguous run, then gaps
        var seen: [Int] = [], sizes: [Int] = []
        try runner.forEachBatch(of: Split(name: "some", indices: indices), size: 300) { batch, labels in
            sizes.append(labels.count)
            #expect(batch.shape == [labels.count, width])
            for (row, label) in labels.enumerated() {
                let index = Int(batch.values[row * width] / 0.5)
                #expect(batch.values[row * width + 1] == -Float(index) * 0.5 && label == index % 10)
                seen.append(index)
            }
        }
        #expect(seen == indices)
        #expect(sizes.dropLast().allSatisfy { $0 == 300 } && sizes.last == indices.count % 300)
    }
    /// Samples stored as bytes are picked as bytes and widened after: the same scaled floats as
    /// reading floats and scaling them, for contiguous runs and gathered ones across the 4096-row
    /// chunks, one batch after another (`forEach`) and on all cores (`concurrent`).
    @Test func bytesArePickedThenWidened() throws {
        let (count, width) = (9000, 3)
        let bytes = (0..<(count * width)).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / 251) }
        let data = ByteArrayData(path: "memory", x: bytes, y: (0..<count).map { $0 % 10 }, sampleShape: [width])
        let indices = Array(0..<5000) + stride(from: 5000, to: count, by: 3)
        let split = Split(name: "some", indices: indices)
        let expected = indices.flatMap { i in (0..<width).map { Float(bytes[i * width + $0]) * 0.5 } }
        var serial: [Float] = []
        try SplitBatches(data: data, split: split, scale: 0.5).forEach(size: 300) { x, _, _ in serial += x }
        #expect(serial == expected)
        var parallel: [Float] = []
        try SplitBatches(data: data, split: split, scale: 0.5).concurrent(size: 300, { x, _, _ in x }, combine: { parallel += $0 })
        #expect(parallel == expected)
        // The byte path it is: data whose float reads fail gives the same.
        var bytesOnly: [Float] = []
        try SplitBatches(data: BytesOnly(data), split: split, scale: 0.5).forEach(size: 300) { x, _, _ in bytesOnly += x }
        #expect(bytesOnly == expected)
        // An HDF5 dataset of bytes (MNIST's images) takes the same path and gives what `batch` reads.
        let images = try DataSource.open(ForwardTests.path("engine/test_data.h5"))
        #expect((images as? any ByteData)?.holdsBytes == true)
        let odd = Array(stride(from: 1, to: 200, by: 2))
        var picked: [Float] = []
        try SplitBatches(data: images, split: Split(name: "odd", indices: odd), scale: 1).forEach(size: 32) { x, _, _ in picked += x }
        let all = try images.batch(0..<200).x
        #expect(picked == odd.flatMap { Array(all[($0 * 784)..<(($0 + 1) * 784)]) })
    }
}

/// Byte data whose float reads fail: what reads it must take the byte path.
private final class BytesOnly: ByteData {
    let base: ByteArrayData
    init(_ base: ByteArrayData) { self.base = base }
    var path: String { base.path }
    var count: Int { base.count }
    var sampleShape: [Int] { base.sampleShape }
    var holdsBytes: Bool { true }
    func batch(_ range: Range<Int>) throws -> (x: [Float], y: [Int]) { throw EngineError.data(path: path, problem: "read as floats") }
    func byteBatch(_ range: Range<Int>) throws -> (x: [UInt8], y: [Int]) { try base.byteBatch(range) }
    func labelsOnly(_ range: Range<Int>) throws -> (Void, [Int]) { try base.labelsOnly(range) }
}
