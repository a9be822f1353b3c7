import Checkpoint
import Engine
import Forgetting
import Foundation
import Jobs
import Testing

/// A labelled data set in memory that counts how often it is read.
final class CountingData: LabeledData, @unchecked Sendable {
    let path = "counting"
    let count: Int
    let sampleShape: [Int]
    private let x: [Float], y: [Int]
    private(set) var reads = 0

    init(reading source: any LabeledData) throws {
        (x, y) = try source.batch(0..<source.count)
        count = source.count
        sampleShape = source.sampleShape
    }

    func batch(_ range: Range<Int>) throws -> (x: [Float], y: [Int]) {
        reads += 1
        let width = sampleShape.reduce(1, *)
        return (Array(x[(range.lowerBound * width)..<(range.upperBound * width)]), Array(y[range]))
    }

    func labelsOnly(_ range: Range<Int>) throws -> (Void, [Int]) {
        reads += 1
        return ((), Array(y[range]))
    }
}

@Suite struct ForgetJobTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures").path

    static func request(output: String?, dryRun: Bool, data: CountingData) throws -> ForgetRequest {
        ForgetRequest(input: fixtures + "/keras/mnist_mlp.h5", output: output, passes: [try PassSpec(parsing: "ssd:alpha=1")],
                      target: ForgetTarget(classes: [2]), data: DataSelection(data: data, classes: [2], scale: 1 / 255),
                      dryRun: dryRun, toolVersion: "test")
    }

    /// A dry run of an `ssd` run with data prints its plan without running the model: the data is
    /// never read. The same request run for real reads it (so the count would show engine work).
    @Test func aDryRunDoesNoEngineWork() throws {
        let data = try CountingData(reading: DataSource.open(Self.fixtures + "/engine/test_data.h5:x_flat,y"))
        guard case .planned(let plan, _) = try ForgetJob.run(try Self.request(output: nil, dryRun: true, data: data)) else {
            Issue.record("a dry run wrote something")
            return
        }
        #expect(data.reads == 0)
        #expect(plan.needsStatisticsFromData && plan.steps.count == 1 && plan.steps[0].tensors.count == 4)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("job-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard case .written(let report, _, let before, let after) = try ForgetJob.run(try Self.request(output: directory + "/out.h5", dryRun: false, data: data)) else {
            Issue.record("the run did not write")
            return
        }
        #expect(data.reads > 0)
        #expect(report.passes[0].changed.count > 0)
        #expect(before?.forget != nil && after?.forget != nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["out.h5"])
    }
}

/// Passes apply in the order given, whichever kind: a model pass trains the model as the tensor
/// passes before it left it, and the passes after it edit what it wrote.
@Suite struct PassOrderTests {
    @Test func aModelPassSeesTheEditsBeforeIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("order-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = ForgetJobTests.fixtures + "/keras/mnist_mlp.h5"
        let data = try DataSource.open(ForgetJobTests.fixtures + "/engine/test_data.h5:x_flat,y")
        let selection = DataSelection(data: data, classes: [2], scale: 1 / 255)
        let request = ForgetRequest(input: model, output: directory + "/out.h5",
                                    passes: try ["dampen:0.5", "ascent:steps=2,lr=0.05,batch=8,seed=3", "zero@*output/bias"].map(PassSpec.init(parsing:)),
                                    target: ForgetTarget(classes: [2]), data: selection, toolVersion: "test")
        guard case .written(let report, _, _, _) = try ForgetJob.run(request) else { Issue.record("not written"); return }
        #expect(report.passes.map { $0.changed.count } == [2, 4, 1])

        // The same by hand: dampen class 2, train two steps on the same batches, zero class 2's bias.
        let checkpoint = try openCheckpoint(model)
        let network = try Network(checkpoint: checkpoint)
        let kernel = "model_weights/output/mnist_mlp/output/kernel", bias = "model_weights/output/mnist_mlp/output/bias"
        var weights = network.weights
        for row in 0..<32 { weights[kernel]![row * 10 + 2] *= 0.5 }
        weights[bias]![2] *= 0.5
        let dampened = try network.replacing(weights)
        let splits = try selection.splits(network: dampened)
        var trainer = try Trainer(network: dampened, training: network.parameters.map(\.name), optimizer: SGD(learningRate: 0.05))
        var sampler = BatchSampler(part: splits.forget, size: 8, sampleShape: network.inputShape, seed: 3)
        for _ in 0..<2 {
            let (x, y) = try sampler.next()
            try trainer.step(.negativeCrossEntropy, batch: x, labels: y)
        }
        let output = try openCheckpoint(directory + "/out.h5")
        for (name, values) in trainer.parameters {
            let written = try output.read(try #require(output.tensor(named: name))).values
            var expected = values
            if name == bias { expected[2] = 0 }
            #expect(written == .float32(expected), "\(name)")
        }
    }
}
