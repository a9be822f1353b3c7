import Checkpoint

/// What simulating a split gave: the scores and labels (when kept) and, summed over the split's
/// samples, each spiking node's spikes per neuron (and the input's values over time), with the
/// spikes of the first and the last step (eq. 15's ends).
public struct SpikeMeasures: Sendable {
    public var scores: [Float] = [], labels: [Int] = []
    public var samples = 0
    public var counts: [String: [Double]] = [:]
    /// Per synapse node, its input per unit summed over steps and samples.
    public var synapseInputs: [String: [Double]] = [:]
    public var firstStep: [String: [Double]] = [:], lastStep: [String: [Double]] = [:]

    public init() {}

    mutating func add(_ result: SpikingBatchResult, labels: [Int], keepScores: Bool) {
        samples += labels.count
        if keepScores {
            scores += result.scores
            self.labels += labels
        }
        func accumulate(_ sums: inout [String: [Double]], _ values: [String: [Float]], width: (String, Int) -> Int) {
            for (node, batch) in values {
                let w = width(node, batch.count)
                var total = sums[node] ?? [Double](repeating: 0, count: w)
                for (i, value) in batch.enumerated() { total[i % w] += Double(value) }
                sums[node] = total
            }
        }
        accumulate(&counts, result.activity) { _, count in count / max(labels.count, 1) }
        accumulate(&synapseInputs, result.synapseInputs) { _, count in count / max(labels.count, 1) }
        accumulate(&firstStep, result.firstStep) { _, count in count }
        accumulate(&lastStep, result.lastStep) { _, count in count }
    }

    /// Per node, the mean over samples of each neuron's spikes (0 without samples).
    public var meanCounts: [String: [Double]] {
        let n = Double(max(samples, 1))
        return counts.mapValues { $0.map { $0 / n } }
    }
}

/// Runs a spiking model over the samples of a data part in fixed batches on all cores (OpenBLAS
/// single-threaded inside each), combining results in file order: they do not depend on the number
/// of threads.
public struct SpikingRunner {
    public let model: SpikingModel
    public let part: DataPart

    public init(model: SpikingModel, part: DataPart) throws {
        try model.check(part.data)
        self.model = model
        self.part = part
    }

    /// Samples per batch: about 16 MiB of node outputs, from 1 to 256 samples; fixed by the network
    /// and the steps alone.
    var batchSize: Int {
        min(max((4 << 20) / max(model.network.valuesPerSample * model.options.steps, 1), 1), 256)
    }

    /// Simulates every sample of the part: scores and labels with `keepScores`, spike sums with
    /// `record`. Spike trains that the data holds as bytes are simulated as bytes (the same results).
    public func measure(keepScores: Bool = false, record: Bool = true) throws -> SpikeMeasures {
        let (network, options, indices, classes, scale) = (model.network, model.options, part.split.indices, model.classes, part.scale)
        var result = SpikeMeasures()
        /// A batch's result, or nil with its labels when one of them is not a class of the model.
        @Sendable func run(_ labels: [Int], first: Int, _ simulate: (_ indices: [Int]) -> SpikingBatchResult) -> (SpikingBatchResult?, [Int]) {
            guard labels.allSatisfy({ (0..<classes).contains($0) }) else { return (nil, labels) }
            return (simulate(Array(indices[first..<(first + labels.count)])), labels)
        }
        func combine(_ batch: SpikingBatchResult?, _ labels: [Int]) throws {
            guard let batch else {
                let position = labels.firstIndex { !(0..<classes).contains($0) }!
                throw EngineError.labelOutOfRange(path: part.data.labelsPath, label: labels[position],
                                                  sample: indices[result.samples + position], classes: classes)
            }
            result.add(batch, labels: labels, keepScores: keepScores)
        }
        let batches = SplitBatches(data: part.data, split: part.split, scale: scale)
        if options.encoding == .spikes, let data = part.data as? any ByteData, data.holdsBytes {
            try batches.concurrent(size: batchSize, read: data.byteBatch, adjust: { _ in }) { x, labels, first in
                run(labels, first: first) { network.simulate(spikes: x, scale: scale, samples: labels.count, indices: $0, options: options, record: record) }
            } combine: { try combine($0.0, $0.1) }
        } else {
            try batches.concurrent(size: batchSize) { x, labels, first in
                run(labels, first: first) { network.simulate(x, samples: labels.count, indices: $0, options: options, record: record) }
            } combine: { try combine($0.0, $0.1) }
        }
        return result
    }
}
