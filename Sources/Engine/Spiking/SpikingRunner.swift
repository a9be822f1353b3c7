import Checkpoint
import Dispatch

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
        try simulate(keepScores: keepScores, record: record, keeping: nil).measures
    }

    /// `measure`, also keeping for every batch what the nodes that read none of `tensors` gave
    /// (those before the first node, in run order, that reads one) when it fits in
    /// `SpikingPrefixes.memoryLimit`: `measure(resuming:)` then simulates only the rest, for a
    /// network that differs from this one in those tensors alone.
    public func measure(keepScores: Bool = false, record: Bool = true,
                        keepingWhatDoesNotRead tensors: Set<String>) throws -> (measures: SpikeMeasures, prefixes: SpikingPrefixes?) {
        let network = model.network, next = network.firstNode(reading: tensors)
        guard next > 0, let bytes = network.prefixBytes(before: next, steps: model.options.steps, samples: part.count),
              bytes <= SpikingPrefixes.memoryLimit else {
            return (try measure(keepScores: keepScores, record: record), nil)
        }
        let (measures, states) = try simulate(keepScores: keepScores, record: record, keeping: next)
        let read = Set(network.nodes[..<next].flatMap(\.kind.tensors))
        let prefixes = SpikingPrefixes(nodes: next, path: network.path, parameters: network.weights.filter { read.contains($0.key) },
                                       options: model.options, record: record, data: part.data, indices: part.split.indices,
                                       scale: part.scale, batches: states)
        return (measures, prefixes)
    }

    /// `measure`, each batch started from `prefixes` where they apply (the same network file, data
    /// part, options and recording, and the same tensors for the nodes they cover), else from
    /// the input: the same results either way.
    public func measure(keepScores: Bool = false, record: Bool = true, resuming prefixes: SpikingPrefixes?) throws -> SpikeMeasures {
        guard let prefixes, prefixes.apply(to: model.network, options: model.options, record: record, part: part) else {
            return try measure(keepScores: keepScores, record: record)
        }
        _ = AllocatorTuning.applied
        let (network, options, batches) = (model.network, model.options, prefixes.batches)
        let slots = Slots<SpikingBatchResult>(batches.count)
        DispatchQueue.concurrentPerform(iterations: batches.count) { i in
            slots.base[i] = network.run(nil, from: batches[i].state, samples: batches[i].labels.count, indices: [], options: options, record: record).result
        }
        var result = SpikeMeasures()
        for (i, batch) in batches.enumerated() { result.add(slots.base[i]!, labels: batch.labels, keepScores: keepScores) }
        return result
    }

    /// Every batch of the part, in fixed batches on all cores, and with `keep` each batch's
    /// labels and state before node `keep`.
    private func simulate(keepScores: Bool, record: Bool, keeping keep: Int?) throws -> (measures: SpikeMeasures, states: [(labels: [Int], state: BatchState)]) {
        let (network, options, indices, classes, scale) = (model.network, model.options, part.split.indices, model.classes, part.scale)
        var result = SpikeMeasures(), states: [(labels: [Int], state: BatchState)] = []
        /// A batch's result and kept state, or nil with its labels when one of them is not a class of the model.
        @Sendable func run(_ input: SpikingNetwork.BatchInput, _ labels: [Int], first: Int) -> (SpikingBatchResult?, BatchState?, [Int]) {
            guard labels.allSatisfy({ (0..<classes).contains($0) }) else { return (nil, nil, labels) }
            let (batch, kept) = network.run(input, keeping: keep, samples: labels.count, indices: Array(indices[first..<(first + labels.count)]),
                                            options: options, record: record)
            return (batch, kept, labels)
        }
        func combine(_ batch: SpikingBatchResult?, _ kept: BatchState?, _ labels: [Int]) throws {
            guard let batch else {
                let position = labels.firstIndex { !(0..<classes).contains($0) }!
                throw EngineError.labelOutOfRange(path: part.data.labelsPath, label: labels[position],
                                                  sample: indices[result.samples + position], classes: classes)
            }
            result.add(batch, labels: labels, keepScores: keepScores)
            if let kept { states.append((labels, kept)) }
        }
        let batches = SplitBatches(data: part.data, split: part.split, scale: scale)
        if options.encoding == .spikes, let data = part.data as? any ByteData, data.holdsBytes {
            try batches.concurrent(size: batchSize, read: data.byteBatch, adjust: { _ in }) { x, labels, first in
                run(.spikes(x, scale: scale), labels, first: first)
            } combine: { try combine($0.0, $0.1, $0.2) }
        } else {
            try batches.concurrent(size: batchSize) { x, labels, first in run(.values(x), labels, first: first) } combine: { try combine($0.0, $0.1, $0.2) }
        }
        return (result, states)
    }
}
