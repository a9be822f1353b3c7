import Foundation
import Testing
import Checkpoint
@testable import Engine

/// Fisher diagonals against JAX's (`jax.vmap(jax.grad)` in float64, Fixtures/engine/fisher_*.h5):
/// the 200 test samples scaled by 1/255, forget = class 2, full = all of them.
@Suite struct FisherTests {
    private func compare(model: String, data: String, reference: String, mode: FisherMode, splits: [String]) throws {
        let network = try ForwardTests.network(model)
        let dataSet = try DataSource.open(ForwardTests.path("engine/" + data))
        let runner = try NetworkRunner(network: network, data: dataSet, scale: 1 / 255)
        let forget = try Split.select(dataSet, name: "forget") { $1 == 2 }
        let retain = try Split.select(dataSet, name: "retain") { $1 != 2 }
        let computed = try StatisticsFileWriter.compute(
            .init(forget: .init(runner: runner, split: forget), retain: .init(runner: runner, split: retain),
                  full: .init(runner: runner, split: Split(name: "full", indices: Array(0..<200)))), mode: mode)
        let expected = try openCheckpoint(ForwardTests.path("engine/" + reference))
        var compared = 0
        for split in splits {
            for (name, shape) in network.parameters {
                guard let info = expected.tensor(named: "fisher/\(split)/\(name)") else { continue }
                #expect(info.shape == shape)
                let want = try expected.read(info).values
                let got = try #require(computed[split]?[name])
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

    @Test func exactFisherOfTheMLPMatchesJAX() throws {
        try compare(model: "keras/mnist_mlp.h5", data: "test_data.h5:x_flat,labels", reference: "fisher_mlp_exact.h5",
                    mode: .exact, splits: ["forget", "retain", "full"])
    }

    @Test func batchFisherOfTheMLPMatchesJAX() throws {
        try compare(model: "keras/mnist_mlp.h5", data: "test_data.h5:x_flat,labels", reference: "fisher_mlp_batch64.h5",
                    mode: .batch(64), splits: ["forget", "full"])
    }

    @Test func exactFisherOfTheCNNMatchesJAX() throws {
        try compare(model: "engine/mnist_cnn.h5", data: "test_data.h5", reference: "fisher_cnn_exact.h5",
                    mode: .exact, splits: ["forget", "full"])
    }
}
