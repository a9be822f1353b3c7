import Foundation
import Testing
import Checkpoint
@testable import Engine

/// The simulator against spike counts computed by others on the same input spikes
/// (Fixtures/spiking, make_spiking_fixtures.py): snnTorch's own `Leaky` modules for the exported
/// MLP, a float64 numpy simulator of NIR's equations, and two float64 simulators (numpy and
/// torch.nn.functional) of NIR's reference CNN.
@Suite struct SpikingSimulatorTests {
    static func network(_ name: String) throws -> SpikingNetwork {
        try SpikingNetwork(checkpoint: openCheckpoint(ForwardTests.path("spiking/" + name)))
    }

    /// The `input` dataset ([T, N, ...], time first) rearranged sample by sample, as `.spikes` reads it.
    static func spikeTrains(_ file: HDF5ArrayFile) throws -> (values: [Float], steps: Int, samples: Int) {
        let shape = try #require(file.shape(of: "input"))
        let (steps, samples) = (shape[0], shape[1]), width = shape.dropFirst(2).reduce(1, *)
        let timeMajor = try file.readRows("input", 0..<steps)
        var values = [Float](repeating: 0, count: timeMajor.count)
        for t in 0..<steps { for s in 0..<samples { for j in 0..<width { values[(s * steps + t) * width + j] = timeMajor[(t * samples + s) * width + j] } } }
        return (values, steps, samples)
    }

    /// Runs `model` on the fixture's input spikes and compares every recorded node's counts.
    static func compare(model: String, spikes: String, reset: SpikingOptions.Reset, references: [String: String]) throws {
        let network = try network(model)
        let file = try HDF5ArrayFile(path: ForwardTests.path("spiking/" + spikes))
        let (input, steps, samples) = try spikeTrains(file)
        let result = network.simulate(input, samples: samples, indices: Array(0..<samples),
                                      options: SpikingOptions(steps: steps, dt: 1e-4, reset: reset, encoding: .spikes), record: true)
        for (node, dataset) in references.sorted(by: { $0.key < $1.key }) {
            let expected = try file.readRows(dataset, 0..<samples)
            let counts = try #require(result.activity[node], "no counts for node \(node)")
            #expect(counts.count == expected.count)
            let different = zip(counts, expected).filter { $0 != $1 }.count
            #expect(different == 0, "node \(node): \(different) of \(expected.count) counts differ from \(dataset)")
        }
        // The scores are the readout's counts; the predictions are their arg-max, ties to the lowest class.
        let predicted = try file.readLabels(reset == .nir && model.hasPrefix("snn") ? "nir_predicted" : "predicted", 0..<samples)
        let classes = network.classes
        let argmax = (0..<samples).map { s in (0..<classes).max { result.scores[s * classes + $0] < result.scores[s * classes + $1] || (result.scores[s * classes + $0] == result.scores[s * classes + $1] && $0 > $1) }! }
        #expect(argmax == predicted)
    }

    @Test func snnTorchCountsWithItsResetRule() throws {
        try Self.compare(model: "snn_post.nir", spikes: "snn_spikes.h5", reset: .subtractDelayed,
                         references: ["1": "counts/1", "3": "counts/3", "5": "counts/5"])
    }

    @Test func nirEquationsCounts() throws {
        try Self.compare(model: "snn_post.nir", spikes: "snn_spikes.h5", reset: .nir,
                         references: ["1": "nir_counts/1", "3": "nir_counts/3", "5": "nir_counts/5"])
    }

    @Test func convolutionalGraphOfTheNIRPaper() throws {
        try Self.compare(model: "cnn_sinabs.nir", spikes: "cnn_spikes.h5", reset: .nir,
                         references: ["1": "counts/1", "3": "counts/3", "6": "counts/6", "10": "counts/10", "12": "counts/12"])
    }

    /// Rate coding draws from each sample's index, and each row's synapses add its own inputs only:
    /// a sample's scores are the same alone, in any batch, and on any number of cores.
    @Test func aSamplesResultDoesNotDependOnItsBatch() throws {
        let network = try Self.network("snn_post.nir")
        let data = try DataSource.open(ForwardTests.path("spiking/snn_data.h5"))
        let options = SpikingOptions(steps: 10, encoding: .rate(seed: 7))
        let model = SpikingModel(network: network, options: options)
        let indices = Array(stride(from: 3, to: 1500, by: 23))  // 66 samples, more than one batch per core
        let scale: Float = 1 / 255
        let part = DataPart(data: data, split: Split(name: "some", indices: indices), scale: scale)
        let together = try model.outputs(on: part)
        #expect(together.labels.count == indices.count)
        for (position, index) in indices.enumerated() where position % 5 == 0 {
            let (x, _) = try data.batch(index..<(index + 1))
            let alone = network.simulate(x.map { $0 * scale }, samples: 1, indices: [index], options: options)
            #expect(alone.scores == Array(together.values[(position * 10)..<((position + 1) * 10)]), "sample \(index)")
        }
        // Another seed draws other spikes.
        let reseeded = try SpikingModel(network: network, options: SpikingOptions(steps: 10, encoding: .rate(seed: 8))).outputs(on: part)
        #expect(reseeded.values != together.values)
    }
}
