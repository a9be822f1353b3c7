import Checkpoint

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
        var pendingX: [Float] = [], pendingY: [Int] = []
        var consumed = 0  // samples of the pending buffers already handed out
        let width = network.inputShape.reduce(1, *)
        func flush(_ count: Int) throws {
            let batch = Batch(values: Array(pendingX[(consumed * width)..<((consumed + count) * width)]), shape: [count] + network.inputShape)
            try body(batch, Array(pendingY[consumed..<(consumed + count)]))
            consumed += count
        }
        var cursor = 0
        while cursor < split.indices.count {
            // The contiguous file range holding the next indices, at most 4096 rows long.
            let first = split.indices[cursor]
            var last = cursor
            while last + 1 < split.indices.count, split.indices[last + 1] - first < 4096 { last += 1 }
            let (x, y) = try data.batch(first..<(split.indices[last] + 1))
            pendingX.removeFirst(consumed * width)
            pendingY.removeFirst(consumed)
            consumed = 0
            for index in split.indices[cursor...last] {
                let row = index - first
                pendingX += x[(row * width)..<((row + 1) * width)].map { $0 * scale }
                pendingY.append(y[row])
            }
            cursor = last + 1
            while pendingY.count - consumed >= size { try flush(size) }
        }
        if pendingY.count > consumed { try flush(pendingY.count - consumed) }
    }

    /// The model's outputs (probabilities) for every sample of `split`, in order, with the labels.
    public func predictions(_ split: Split) throws -> (outputs: [Float], labels: [Int]) {
        var outputs: [Float] = [], labels: [Int] = []
        try forEachBatch(of: split, size: 256) { batch, y in
            outputs += network.predict(batch).values
            labels += y
        }
        return (outputs, labels)
    }

    /// Fisher diagonals of the cross-entropy loss over `split`, by tensor name.
    public func fisher(_ split: Split, mode: FisherMode) throws -> [String: [Double]] {
        guard network.endsInSoftmax else { throw EngineError.lossNeedsSoftmax(path: network.path) }
        var sink = GradientSink(mode: mode)
        let size = if case .batch(let b) = mode { b } else { 128 }
        try forEachBatch(of: split, size: size) { batch, y in
            if let bad = y.first(where: { $0 < 0 || $0 >= network.classes }) {
                throw EngineError.data(path: data.path, problem: "label \(bad) is outside the model's \(network.classes) classes")
            }
            network.accumulateGradients(batch, labels: y, into: &sink)
        }
        return sink.result()
    }
}

extension NetworkRunner {
    /// For each layer with units (Dense, Conv2D), the sum over the split's samples of each input
    /// unit's and each output unit's activation (for convolutions, per channel, averaged over
    /// positions first), and the number of samples: activity = sum / samples.
    public func activitySums(_ split: Split) throws -> (sums: [String: (pre: [Double], post: [Double])], samples: Int) {
        var sums: [String: (pre: [Double], post: [Double])] = [:]
        var samples = 0
        try forEachBatch(of: split, size: 256) { batch, _ in
            samples += batch.samples
            var input = batch
            for layer in network.layers {
                let output = layer.forward(input)
                if layer is Dense || layer is Conv2D {
                    let pre = Self.channelSums(input), post = Self.channelSums(output)
                    let previous = sums[layer.name] ?? ([Double](repeating: 0, count: pre.count), [Double](repeating: 0, count: post.count))
                    sums[layer.name] = (zip(previous.pre, pre).map(+), zip(previous.post, post).map(+))
                }
                input = output
            }
        }
        return (sums, samples)
    }

    /// Per last-axis channel: the sum over samples of each sample's mean over its other axes.
    private static func channelSums(_ batch: Batch) -> [Double] {
        let channels = batch.shape.last ?? 1
        let positions = batch.width / channels
        var sums = [Double](repeating: 0, count: channels)
        for (i, value) in batch.values.enumerated() { sums[i % channels] += Double(value) }
        return sums.map { $0 / Double(max(positions, 1)) }
    }
}
