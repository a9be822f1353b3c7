import Testing
import Checkpoint
@testable import Engine

/// A network run from values held below a cut gives the whole network's outputs, bit for bit, and
/// so does a network that differs from it only above the cut (what the strength search relies on).
@Suite struct HeldActivationsTests {
    @Test func outputsFromHeldValuesAreTheWholeNetworks() throws {
        let network = try ForwardTests.network("engine/mnist_cnn.h5")
        let data = try DataSource.open(ForwardTests.path("engine/test_data.h5"))
        // Not every sample, so that the batches gather rows as a split of a data set does.
        let part = DataPart(data: data, split: try Split.select(data, name: "odd") { index, _ in index % 3 != 0 }, scale: 1 / 255)
        let whole = try network.outputs(on: part)
        for cut in 1..<network.nodes.count {
            let (values, labels) = try HeldActivations(network, nodes: cut, on: part).outputs(of: network)
            #expect(labels == whole.labels)
            #expect(values.map(\.bitPattern) == whole.values.map(\.bitPattern), "cut after \(cut) nodes")
        }

        // The output layer changed: the cut is its node, and the values held from the original model
        // give the changed model's outputs.
        let output = try #require(network.layers.last { !$0.weights.isEmpty })
        let scaled = output.weights.mapValues { $0.map { $0 * 0.5 } }
        let changed = try network.replacing(scaled)
        let cut = try #require(HeldActivations.cut(network, changed: Set(scaled.keys)))
        #expect(cut == network.nodes.lastIndex { $0.name == output.name })
        let fromHeld = try HeldActivations(network, nodes: cut, on: part).outputs(of: changed)
        #expect(fromHeld.values.map(\.bitPattern) == (try changed.outputs(on: part)).values.map(\.bitPattern))
        #expect(fromHeld.values != whole.values)

        // Nothing changed: the last node; the first layer changed: no cut.
        #expect(HeldActivations.cut(network, changed: []) == network.nodes.count - 1)
        #expect(HeldActivations.cut(network, changed: Set(network.layers[0].weights.keys)) == nil)
        #expect(HeldActivations.bytes(network, nodes: cut, samples: part.count) == (try HeldActivations(network, nodes: cut, on: part)).bytes)
    }
}
