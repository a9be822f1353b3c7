import Foundation
import Testing
import Checkpoint
@testable import Engine

/// Fisher diagonals against JAX's (`jax.vmap(jax.grad)` in float64, Fixtures/engine/fisher_*.h5):
/// the 200 test samples scaled by 1/255, forget = class 2, full = all of them.
@Suite struct FisherTests {
    private func compare(model: String, data: String, reference: String, mode: FisherMode, splits: [String],
                         fullIsUnion: Bool = false) throws {
        let network = try ForwardTests.network(model)
        let dataSet = try DataSource.open(ForwardTests.path("engine/" + data))
        let forget = try Split.select(dataSet, name: "forget") { $1 == 2 }
        let retain = try Split.select(dataSet, name: "retain") { $1 != 2 }
        func part(_ split: Split) -> DataPart { DataPart(data: dataSet, split: split, scale: 1 / 255) }
        let computed = try MeasuredStatistics.measure(
            network, on: DataSplits(forget: part(forget), retain: part(retain), full: part(Split(name: "full", indices: Array(0..<200))),
                                    fullIsUnion: fullIsUnion),
            fisher: mode, activity: false).fisher
        let expected = try openCheckpoint(ForwardTests.path("engine/" + reference))
        var compared = 0
        for split in splits {
            for (name, shape) in network.parameters {
                guard let info = expected.tensor(named: "fisher/\(split)/\(name)") else { continue }
                #expect(info.shape == shape)
                let want = try expected.read(info).values
                let got = try #require(computed[DataSplit(rawValue: split)!]?[name])
                var scale = 0.0, worst = 0.0
                for i in want.indices { scale = max(scale, abs(want[i])) }
                for i in want.indices {
                    let difference: Double = abs(got[i] - want[i])
                    let allowance: Double = abs(want[i]) + 1e-3 * scale + 1e-30
                    worst = max(worst, difference / allowance)
                }
                #expect(worst <= 1e-5, "\(split) \(name): worst relative difference \(worst)")
                compared += 1
            }
        }
        #expect(compared >= splits.count * 2, "only \(compared) tensors compared")
    }

    /// Measured on its own, and (`fullIsUnion`) summed from the forget and retain passes.
    @Test(arguments: [false, true]) func exactFisherOfTheMLPMatchesJAX(fullIsUnion: Bool) throws {
        try compare(model: "keras/mnist_mlp.h5", data: "test_data.h5:x_flat,labels", reference: "fisher_mlp_exact.h5",
                    mode: .exact, splits: ["forget", "retain", "full"], fullIsUnion: fullIsUnion)
    }

    /// The full set's mini-batch Fisher depends on its order, so it takes its own pass either way.
    @Test(arguments: [false, true]) func batchFisherOfTheMLPMatchesJAX(fullIsUnion: Bool) throws {
        try compare(model: "keras/mnist_mlp.h5", data: "test_data.h5:x_flat,labels", reference: "fisher_mlp_batch64.h5",
                    mode: .batch(64), splits: ["forget", "full"], fullIsUnion: fullIsUnion)
    }

    /// Batches are measured on several threads and added in file order: the sums equal, bit for
    /// bit, those of the same batches measured and added one after another on this thread.
    @Test(arguments: [FisherMode.exact, .batch(16)]) func concurrentBatchesAddUpInFileOrder(mode: FisherMode) throws {
        let network = try ForwardTests.network("engine/mnist_cnn.h5")
        let data = try DataSource.open(ForwardTests.path("engine/test_data.h5"))
        let runner = try NetworkRunner(network: network, data: data, scale: 1 / 255)
        let split = try Split.select(data, name: "odd") { index, _ in index % 3 != 0 }
        let size = 16
        let concurrent = try runner.measure(split, fisher: mode, activity: true, samplesPerBatch: size)
        var sequential = SplitMeasures(fisher: FisherAccumulator(mode: mode))
        try runner.forEachBatch(of: split, size: size) { batch, labels in
            sequential.add(network.measure(batch, labels: labels, fisher: mode, activity: true), labels: labels, outputs: false)
        }
        #expect(concurrent.samples == split.indices.count && concurrent.fisher?.batches == sequential.fisher?.batches)
        #expect(concurrent.fisher?.sums == sequential.fisher?.sums)
        #expect(concurrent.activity.mapValues { $0.pre + $0.post } == sequential.activity.mapValues { $0.pre + $0.post })
    }

    /// With batches of one sample, the mini-batch definition is the exact one: this checks the
    /// batch path (one product over the batch) against the per-sample path checked above.
    @Test func batchOfOneEqualsExactForTheCNN() throws {
        let network = try ForwardTests.network("engine/mnist_cnn.h5")
        let data = try DataSource.open(ForwardTests.path("engine/test_data.h5"))
        let runner = try NetworkRunner(network: network, data: data, scale: 1 / 255)
        let split = Split(name: "some", indices: Array(0..<40))
        let (exact, single) = (try runner.fisher(split, mode: .exact), try runner.fisher(split, mode: .batch(1)))
        #expect(exact.keys.sorted() == single.keys.sorted() && exact.count == 10)  // 2 conv, BN, 2 dense: kernels or scales, and biases
        for (name, values) in exact {
            let other = single[name]!
            let scale = values.map(abs).max() ?? 0
            let worst = zip(values, other).map { abs($0 - $1) / (abs($0) + 1e-3 * scale + 1e-30) }.max() ?? 0
            #expect(worst < 1e-4, "\(name): \(worst)")
        }
    }

    @Test func exactFisherOfTheCNNMatchesJAX() throws {
        try compare(model: "engine/mnist_cnn.h5", data: "test_data.h5", reference: "fisher_cnn_exact.h5",
                    mode: .exact, splits: ["forget", "full"])
    }
}

/// Activity and correlation statistics against Keras' own outputs (predictions.h5) and the pixels.
@Suite struct ActivityTests {
    @Test func activityAndCorrelationOfTheMLP() throws {
        let network = try ForwardTests.network("keras/mnist_mlp.h5")
        let data = try DataSource.open(ForwardTests.path("engine/test_data.h5:x_flat,labels"))
        let forget = try Split.select(data, name: "forget") { $1 == 2 }
        let retain = try Split.select(data, name: "retain") { $1 != 2 }
        func part(_ split: Split) -> DataPart { DataPart(data: data, split: split, scale: 1 / 255) }
        let activity = try #require(MeasuredStatistics.measure(
            network, on: DataSplits(forget: part(forget), retain: part(retain), full: part(Split(name: "full", indices: Array(0..<200))),
                                    fullIsUnion: true),
            fisher: nil, activity: true).activity)
        #expect(activity.samples == [.forget: 22, .retain: 178, .full: 200])
        // The output layer's post activity is the mean of Keras' predicted probabilities over the split.
        let keras = try ForwardTests.keras("mlp")
        let (_, labels) = try data.batch(0..<200)
        for unit in 0..<10 {
            let expected = labels.indices.filter { labels[$0] == 2 }.map { Double(keras[$0 * 10 + unit]) }.reduce(0, +) / 22
            #expect(abs(activity.mean[.forget]!["output"]!.post[unit] - expected) < 1e-6)
        }
        // The first layer's pre activity is the mean pixel / 255; its correlation the forget share of the pixel sums.
        let (pixels, _) = try data.batch(0..<200)
        for pixel in [100, 300, 400, 500] {
            let forgetSum = labels.indices.filter { labels[$0] == 2 }.map { Double(pixels[$0 * 784 + pixel]) / 255 }.reduce(0, +)
            let totalSum = (0..<200).map { Double(pixels[$0 * 784 + pixel]) / 255 }.reduce(0, +)
            #expect(abs(activity.mean[.full]!["hidden"]!.pre[pixel] - totalSum / 200) < 1e-6)
            #expect(abs(activity.correlation["hidden"]!.pre[pixel] - (totalSum > 0 ? forgetSum / totalSum : 0)) < 1e-6)
        }
    }
}

@Suite struct LabelTests {
    /// A label the model has no class for stops the pass, naming it and its sample, whichever batch
    /// and thread it is in; predictions too, since every metric reads the labels.
    @Test func labelsOutsideTheClassesAreNamed() throws {
        let network = try ForwardTests.network("keras/mnist_mlp.h5")
        var labels = (0..<700).map { $0 % 10 }
        labels[650] = 12
        let data = ArrayData(path: "memory", x: [Float](repeating: 0.5, count: 700 * 784), y: labels, sampleShape: [784])
        let runner = try NetworkRunner(network: network, data: data, scale: 1)
        let error = EngineError.labelOutOfRange(path: "memory", label: 12, sample: 650, classes: 10)
        #expect(error.description == "memory: label 12 of sample 650 is outside the model's 10 classes (0...9)")
        #expect(throws: error) { try runner.fisher(Split(name: "all", indices: Array(0..<700)), mode: .exact) }
        #expect(throws: error) { try runner.predictions(Split(name: "all", indices: Array(0..<700))) }
        // In a split, the sample is named by its index in the data.
        #expect(throws: EngineError.labelOutOfRange(path: "memory", label: 12, sample: 650, classes: 10)) {
            try runner.predictions(Split(name: "some", indices: Array(600..<700)))
        }
    }
}
