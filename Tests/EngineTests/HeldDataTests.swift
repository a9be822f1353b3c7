import Testing
@testable import Engine

/// A data part held in memory (`DataPart.held`) gives training and measurement exactly what the
/// part read from its file gives, and reads the file once.
@Suite struct HeldDataTests {
    /// The bundled MLP's test data with every read counted.
    final class CountingFile: LabeledData {
        let source: any LabeledData
        private(set) var reads = 0
        init(_ source: any LabeledData) { self.source = source }
        var path: String { source.path }
        var files: [String] { source.files }
        var labelsPath: String { source.labelsPath }
        var count: Int { source.count }
        var sampleShape: [Int] { source.sampleShape }
        func batch(_ range: Range<Int>) throws -> (x: [Float], y: [Int]) { reads += 1; return try source.batch(range) }
        func labelsOnly(_ range: Range<Int>) throws -> (Void, [Int]) { try source.labelsOnly(range) }
    }

    static func setUp() throws -> (Network, CountingFile, DataPart) {
        let network = try ForwardTests.network("keras/mnist_mlp.h5")
        let file = CountingFile(try DataSource.open(ForwardTests.path("engine/test_data.h5:x_flat,y")))
        // Scattered samples (every third of the first 150, and a run of 150..<170), scaled as --scale 1/255 does.
        let split = Split(name: "forget", indices: Array(stride(from: 0, to: 150, by: 3)) + Array(150..<170))
        return (network, file, DataPart(data: file, split: split, scale: 1 / 255))
    }

    @Test func batchesAndAccuracyAreTheFilesOnesAndTheFileIsReadOnce() throws {
        let (network, file, part) = try Self.setUp()
        let held = try part.held()
        #expect(held.count == part.count && held.scale == 1 && held.split.indices == Array(0..<part.count))
        let readsToHold = file.reads
        // Shuffled batches of 16 over two epochs (70 samples: the last batch of each is short).
        var fromFile = BatchSampler(part: part, size: 16, sampleShape: network.inputShape, seed: 7)
        var fromMemory = BatchSampler(part: held, size: 16, sampleShape: network.inputShape, seed: 7)
        for _ in 0..<10 {
            let (a, b) = (try fromFile.next(), try fromMemory.next())
            #expect(a.batch.values.map(\.bitPattern) == b.batch.values.map(\.bitPattern) && a.labels == b.labels)
            #expect(a.batch.shape == b.batch.shape)
        }
        let readsBefore = file.reads
        #expect(try held.runner(network).accuracy(held.split) == part.runner(network).accuracy(part.split))
        let outputs = try held.runner(network).predictions(held.split), expected = try part.runner(network).predictions(part.split)
        #expect(outputs.outputs.map(\.bitPattern) == expected.outputs.map(\.bitPattern) && outputs.labels == expected.labels)
        // The held part read the file only while it was made; the reads since are the file part's own.
        let heldAlone = try part.held()
        var sampler = BatchSampler(part: heldAlone, size: 16, sampleShape: network.inputShape, seed: 7)
        let afterHolding = file.reads
        for _ in 0..<10 { _ = try sampler.next() }
        _ = try heldAlone.runner(network).accuracy(heldAlone.split)
        #expect(file.reads == afterHolding && readsToHold > 0 && readsBefore > readsToHold)
    }

    @Test func aPartOverTheBudgetIsLeftAsItIs() throws {
        let (_, file, part) = try Self.setUp()
        let bytes = part.count * 784 * 4
        #expect(try part.held(budget: bytes).data !== file)
        let over = try part.held(budget: bytes - 1)
        #expect(over.data === file && over.split.indices == part.split.indices && over.scale == part.scale)
    }
}
