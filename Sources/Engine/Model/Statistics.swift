import Checkpoint
import Foundation

/// Runs a network over the samples of a split, a batch at a time: predictions for evaluation,
/// Fisher diagonals for SSD.
public struct NetworkRunner {
    public let network: Network
    public let data: any LabeledData
    /// Multiplies every input value (e.g. 1/255 for bytes).
    public let scale: Float

    public init(network: Network, data: any LabeledData, scale: Float) throws {
        guard data.sampleShape.reduce(1, *) == network.inputShape.reduce(1, *) else {
            throw EngineError.data(path: data.path, problem: "samples of shape \(data.sampleShape) do not fit the model's input \(network.inputShape) (\(network.path))")
        }
        self.network = network
        self.data = data
        self.scale = scale
    }

    /// Calls `body` with consecutive batches of `size` samples from `split` (file order; the last
    /// batch may be smaller), reading the data in chunks so memory does not grow with the set.
    public func forEachBatch(of split: Split, size: Int, _ body: (Batch, [Int]) throws -> Void) throws {
        try SplitBatches(data: data, split: split, scale: scale).forEach(size: size) { x, y, _ in
            try body(Batch(values: x, shape: [y.count] + network.inputShape), y)
        }
    }

    /// The cores batches are measured on (see `SplitBatches.workers`).
    public static var workers: Int { SplitBatches.workers }

    /// Runs `work` on the batches of `split` on all cores and hands the results to `combine` in file order.
    func concurrentBatches<T: Sendable>(of split: Split, size: Int, _ work: @escaping @Sendable (Batch, [Int]) -> T,
                                        combine: (T) throws -> Void) throws {
        let shape = network.inputShape
        try SplitBatches(data: data, split: split, scale: scale).concurrent(size: size, { x, y, _ in
            work(Batch(values: x, shape: [y.count] + shape), y)
        }, combine: combine)
    }

    /// One pass over `split` that measures what is asked: Fisher sums, activity sums, outputs.
    /// `samplesPerBatch` applies where the result does not depend on it mathematically (not to
    /// mini-batch Fisher); by default a batch's activations take about 16 MiB, at most 256 samples.
    public func measure(_ split: Split, fisher: FisherMode? = nil, activity: Bool = false, outputs: Bool = false,
                        logits: Bool = false, samplesPerBatch: Int? = nil) throws -> SplitMeasures {
        if fisher != nil, !network.endsInSoftmax { throw EngineError.lossNeedsSoftmax(path: network.path) }
        var result = SplitMeasures(fisher: fisher.map(FisherAccumulator.init(mode:)))
        let size = if case .batch(let b) = fisher { b } else { samplesPerBatch ?? network.samplesPerBatch }
        let (network, classes) = (network, network.classes)
        try concurrentBatches(of: split, size: size) { batch, labels in
            // A batch with a label out of range is not measured; `combine` reports it, in order.
            guard labels.allSatisfy({ (0..<classes).contains($0) }) else { return (nil, labels) }
            return (network.measure(batch, labels: labels, fisher: fisher, activity: activity, logits: logits), labels)
        } combine: { (measures: BatchMeasures?, labels: [Int]) in
            guard let measures else {
                let position = labels.firstIndex { !(0..<classes).contains($0) }!
                throw EngineError.labelOutOfRange(path: data.labelsPath, label: labels[position],
                                                  sample: split.indices[result.samples + position], classes: classes)
            }
            result.add(measures, labels: labels, outputs: outputs)
        }
        return result
    }

    /// The model's outputs (probabilities) for every sample of `split`, in order, with the labels.
    public func predictions(_ split: Split) throws -> (outputs: [Float], labels: [Int]) {
        let measured = try measure(split, outputs: true)
        return (measured.outputs, measured.labels)
    }

    /// The share of samples of `split` whose arg-max output (lowest class on ties) is their label;
    /// 0 for an empty split.
    public func accuracy(_ split: Split) throws -> Double {
        let (outputs, labels) = try predictions(split)
        guard !labels.isEmpty else { return 0 }
        let classes = network.classes
        var correct = 0
        for (sample, label) in labels.enumerated() {
            let row = outputs[(sample * classes)..<((sample + 1) * classes)]
            if row.indices.max(by: { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) })! - sample * classes == label { correct += 1 }
        }
        return Double(correct) / Double(labels.count)
    }

    /// Fisher diagonals of the cross-entropy loss over `split`, by tensor name.
    public func fisher(_ split: Split, mode: FisherMode) throws -> [String: [Double]] {
        try measure(split, fisher: mode).fisher!.diagonals
    }
}

/// What one pass over a split measured.
public struct SplitMeasures: Sendable {
    public var fisher: FisherAccumulator?
    /// Per Dense and Conv2D layer: activations summed over the samples (see `LayerActivity`).
    public var activity: [String: LayerActivity] = [:]
    /// Outputs and labels, in order (when asked for).
    public var outputs: [Float] = [], labels: [Int] = []
    public var samples = 0
    /// Each class's lowest and highest logit (when asked for).
    public var logits: LogitRange?

    mutating func add(_ measures: BatchMeasures, labels: [Int], outputs keep: Bool) {
        samples += labels.count
        if let gradients = measures.gradients { fisher?.add(gradients, samples: labels.count) }
        for (layer, sums) in measures.activity { activity[layer, default: LayerActivity()].add(sums) }
        if let range = measures.logits {
            if logits == nil { logits = range } else { logits!.add(range) }
        }
        if keep {
            outputs += measures.outputs.values
            self.labels += labels
        }
    }

    /// The measures of the union of two disjoint splits: activity sums add, and so do exact Fisher
    /// sums (mini-batch Fisher does not: it is left out, and so are outputs).
    func merged(with other: SplitMeasures) -> SplitMeasures {
        var union = self
        union.samples += other.samples
        union.fisher = nil
        if let fisher, let more = other.fisher, fisher.mode == .exact { union.fisher = fisher.merged(with: more) }
        union.activity.merge(other.activity) { var sum = $0; sum.add($1); return sum }
        if let more = other.logits {
            if union.logits == nil { union.logits = more } else { union.logits!.add(more) }
        }
        (union.outputs, union.labels) = ([], [])  // not in file order: the union's outputs are not kept
        return union
    }
}

/// A layer's input and output units' activations summed over samples. For convolutions each
/// sample contributes its mean over positions, per channel: activity = sum / samples.
public struct LayerActivity: Sendable {
    public private(set) var pre: [Double] = [], post: [Double] = []

    init() {}

    init(pre input: Batch, post output: Batch) {
        pre = Self.channelSums(input)
        post = Self.channelSums(output)
    }

    mutating func add(_ other: LayerActivity) {
        if pre.isEmpty { self = other; return }
        for i in pre.indices { pre[i] += other.pre[i] }
        for i in post.indices { post[i] += other.post[i] }
    }

    /// Per last-axis channel: the sum over samples of each sample's mean over its other axes.
    private static func channelSums(_ batch: Batch) -> [Double] {
        let channels = batch.shape.last ?? 1
        let positions = Swift.max(batch.width / channels, 1)
        var sums = [Double](repeating: 0, count: channels)
        batch.values.withUnsafeBufferPointer { v in
            sums.withUnsafeMutableBufferPointer { sum in
                for row in stride(from: 0, to: v.count, by: channels) {
                    for c in 0..<channels { sum[c] += Double(v[row &+ c]) }
                }
            }
        }
        return sums.map { $0 / Double(positions) }
    }
}
