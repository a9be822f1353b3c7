import Foundation
import Testing
import Checkpoint
@testable import Engine

/// The sparse synapses and spike trains held as bytes: every sum equals, bit for bit, what adding
/// each fired input's weights into the row in memory gives, and what the same values as floats give.
@Suite struct SpikeBytesTests {
    static let trains = ForwardTests.path("spiking/snn_spikes.h5") + ":input,labels"

    /// Equal bit for bit, NaN equal to NaN whatever its payload.
    static func same(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
    }

    static func same(_ a: [String: [Float]], _ b: [String: [Float]]) -> Bool {
        a.keys.sorted() == b.keys.sorted() && a.allSatisfy { same($0.value, b[$0.key]!) }
    }

    static func random(_ generator: inout SplitMix64) -> Float { Float(generator.next() >> 40) / Float(1 << 24) - 0.5 }

    /// Rows mostly 0, with 1s and a few other values (−0, 2.5, −1, NaN), and weights and biases
    /// of every sign, in shapes that leave every kind of tail (inputs past a multiple of 8,
    /// outputs past a multiple of 32 and of 4).
    @Test func sparseRowsSumAsAddingEachFiredInputIntoTheRowInMemory() {
        var generator = SplitMix64(seed: 17)
        for (inputs, outputs) in [(1, 1), (7, 3), (8, 4), (19, 10), (40, 33), (64, 64), (100, 70)] {
            let rows = 9
            let x: [Float] = (0..<(rows * inputs)).map { _ in
                switch generator.next() % 16 {
                case 0, 1, 2: 1
                case 3: 2.5
                case 4: -0.0
                case 5 where inputs > 40: .nan
                case 6: -1
                default: 0
                }
            }
            let columns = (0..<(inputs * outputs)).map { _ in Self.random(&generator) }, bias = (0..<outputs).map { _ in Self.random(&generator) }
            // The row in memory: each fired input's weights added in ascending order, then the bias.
            var unbiased = [Float](repeating: 0, count: rows * outputs)
            for r in 0..<rows {
                for i in 0..<inputs where x[r * inputs + i] != 0 {
                    let value = x[r * inputs + i]
                    for o in 0..<outputs { unbiased[r * outputs + o] += value == 1 ? columns[i * outputs + o] : value * columns[i * outputs + o] }
                }
            }
            let biased = unbiased.indices.map { unbiased[$0] + bias[$0 % outputs] }
            let sums = SpikingSynapses.affine(x, rows: rows, inputs: inputs, outputs: outputs, weight: [], columns: columns, bias: bias)
            #expect(Self.same(sums, biased), "\(inputs) inputs, \(outputs) outputs")
            let withoutBias = SpikingSynapses.affine(x, rows: rows, inputs: inputs, outputs: outputs, weight: [], columns: columns, bias: nil)
            #expect(Self.same(withoutBias, unbiased), "\(inputs) inputs, \(outputs) outputs, no bias")
            // Bytes worth byte × scale sum as those values do as floats.
            let bytes: [UInt8] = (0..<(rows * inputs)).map { _ in [0, 0, 0, 0, 1, 1, 2, 255][Int(generator.next() % 8)] }
            for scale: Float in [1, 1 / 255, -0.5, 0, -0.0, .leastNormalMagnitude / 4] {
                let fromBytes = SpikingSynapses.affine(spikes: bytes, scale: scale, rows: rows, inputs: inputs, outputs: outputs, columns: columns, bias: bias)
                let fromFloats = SpikingSynapses.affine(bytes.map { Float($0) * scale }, rows: rows, inputs: inputs, outputs: outputs, weight: [],
                                                        columns: columns, bias: bias)
                #expect(Self.same(fromBytes, fromFloats), "\(inputs) inputs, \(outputs) outputs, scale \(scale)")
            }
        }
    }

    @Test func aUint8DatasetIsReadAsBytesHoldingTheValuesOfItsFloats() throws {
        let data = try #require(try DataSource.open(Self.trains, spikeTrains: true) as? any ByteData)
        #expect(data.holdsBytes)
        let (bytes, labels) = try data.byteBatch(3..<20)
        let (floats, floatLabels) = try data.batch(3..<20)
        #expect(bytes.map(Float.init) == floats)
        #expect(labels == floatLabels)
    }

    /// Every recorded sum, bytes against their values as floats, for scales that keep them, zero
    /// them and make them NaN.
    @Test(arguments: [("snn_post.nir", "snn_spikes.h5", SpikingOptions.Reset.subtractDelayed), ("snn_post.nir", "snn_spikes.h5", .nir),
                      ("cnn_sinabs.nir", "cnn_spikes.h5", .nir)])
    func bytesAndTheirFloatsSimulateAlike(model: String, spikes: String, reset: SpikingOptions.Reset) throws {
        let network = try SpikingSimulatorTests.network(model)
        let source = try DataSource.open(ForwardTests.path("spiking/" + spikes) + ":input,labels", spikeTrains: true)
        let data = try #require(source as? any ByteData)
        let (bytes, labels) = try data.byteBatch(0..<data.count)
        let options = SpikingOptions(steps: data.sampleShape[0], reset: reset, encoding: .spikes)
        for scale: Float in [1, 0.5, 3, 0, .nan] {
            let fromBytes = network.simulate(spikes: bytes, scale: scale, samples: labels.count, indices: Array(labels.indices), options: options, record: true)
            let fromFloats = network.simulate(bytes.map { Float($0) * scale }, samples: labels.count, indices: Array(labels.indices), options: options, record: true)
            #expect(Self.same(fromBytes.scores, fromFloats.scores), "scale \(scale)")
            #expect(Self.same(fromBytes.activity, fromFloats.activity), "scale \(scale)")
            #expect(Self.same(fromBytes.synapseInputs, fromFloats.synapseInputs), "scale \(scale)")
            #expect(Self.same(fromBytes.firstStep, fromFloats.firstStep) && Self.same(fromBytes.lastStep, fromFloats.lastStep), "scale \(scale)")
        }
    }

    /// The runner reads a uint8 file as bytes; the same spike trains held as floats measure the same,
    /// on a split that skips samples (so batches are gathered and carried).
    @Test func theRunnerMeasuresBytesAsTheirFloats() throws {
        let model = SpikingModel(network: try SpikingSimulatorTests.network("snn_post.nir"), options: SpikingOptions(steps: 25, encoding: .spikes))
        let source = try DataSource.open(Self.trains, spikeTrains: true)
        let floats = try ArrayData(reading: source), bytes = try ByteArrayData(reading: try #require(source as? any ByteData))
        let split = Split(name: "some", indices: [0, 2, 3, 5, 8, 13, 21, 30, 31])
        for scale: Float in [1, 0.75] {
            let reference = try SpikingRunner(model: model, part: DataPart(data: floats, split: split, scale: scale)).measure(keepScores: true)
            for data in [source, bytes] {
                let measured = try SpikingRunner(model: model, part: DataPart(data: data, split: split, scale: scale)).measure(keepScores: true)
                #expect(Self.same(measured.scores, reference.scores) && measured.labels == reference.labels, "scale \(scale)")
                #expect(measured.counts == reference.counts && measured.synapseInputs == reference.synapseInputs, "scale \(scale)")
                #expect(measured.firstStep == reference.firstStep && measured.lastStep == reference.lastStep, "scale \(scale)")
            }
        }
    }
}
