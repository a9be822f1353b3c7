import Foundation
import Testing
import Checkpoint
@testable import Engine

/// A network whose later parameters changed, simulated from what the first simulation kept of the
/// nodes before them, measures exactly as simulated from the input; where the prefixes do not
/// apply, the runner starts from the input.
@Suite struct SpikingPrefixesTests {
    static func same(_ a: SpikeMeasures, _ b: SpikeMeasures) -> Bool {
        a.samples == b.samples && a.labels == b.labels && a.scores.map(\.bitPattern) == b.scores.map(\.bitPattern) && a.counts == b.counts
            && a.synapseInputs == b.synapseInputs && a.firstStep == b.firstStep && a.lastStep == b.lastStep
    }

    /// Rate-coded images (the encoding is kept too) and spike trains held as bytes, on a split
    /// that skips samples.
    @Test(arguments: [("snn_data.h5", SpikingOptions.Encoding.rate(seed: 3), Float(1) / 255), ("snn_spikes.h5:input,labels", .spikes, 1)])
    func resumingFromThePrefixesMeasuresAsFromTheInput(data name: String, encoding: SpikingOptions.Encoding, scale: Float) throws {
        let network = try SpikingSimulatorTests.network("snn_post.nir")
        let model = SpikingModel(network: network, options: SpikingOptions(steps: encoding == .spikes ? 25 : 10, encoding: encoding))
        let data = try DataSource.open(ForwardTests.path("spiking/" + name), spikeTrains: encoding == .spikes)
        let part = DataPart(data: data, split: Split(name: "some", indices: Array(stride(from: 1, to: data.count, by: 3))), scale: scale)
        let threshold = "node/nodes/3/v_threshold"
        let (first, kept) = try SpikingRunner(model: model, part: part).measure(keepScores: true, keepingWhatDoesNotRead: [threshold])
        let prefixes = try #require(kept)
        #expect(prefixes.nodes == network.graphNodes.firstIndex { $0.name == "3" })
        #expect(Self.same(first, try SpikingRunner(model: model, part: part).measure(keepScores: true)))

        let lowered = try model.replacing([threshold: network.weights[threshold]!.map { $0 * 0.7 }])
        let resumed = try SpikingRunner(model: lowered, part: part).measure(keepScores: true, resuming: prefixes)
        let fromInput = try SpikingRunner(model: lowered, part: part).measure(keepScores: true)
        #expect(Self.same(resumed, fromInput))
        #expect(resumed.counts["3"] != first.counts["3"])

        // A weight before the cut, another part or no recording: the prefixes do not apply.
        let weight = "node/nodes/0/weight"
        let reweighted = try model.replacing([weight: network.weights[weight]!.map { $0 * 1.5 }])
        #expect(Self.same(try SpikingRunner(model: reweighted, part: part).measure(keepScores: true, resuming: prefixes),
                          try SpikingRunner(model: reweighted, part: part).measure(keepScores: true)))
        let other = DataPart(data: data, split: Split(name: "other", indices: Array(0..<20)), scale: scale)
        #expect(Self.same(try SpikingRunner(model: lowered, part: other).measure(keepScores: true, resuming: prefixes),
                          try SpikingRunner(model: lowered, part: other).measure(keepScores: true)))
        #expect(Self.same(try SpikingRunner(model: lowered, part: part).measure(record: false, resuming: prefixes),
                          try SpikingRunner(model: lowered, part: part).measure(record: false)))
    }
}
