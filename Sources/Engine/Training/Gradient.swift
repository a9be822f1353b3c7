import Foundation

/// The gradient of a batch-mean loss for every trainable parameter, and the mean loss itself.
public struct LossGradient: Sendable {
    public var loss: Double
    /// By tensor name, the parameter's shape flattened.
    public var gradients: [String: [Float]]
}

extension Network {
    /// Samples per piece of a batch measured on its own thread. Fixed, so the sum of the pieces, added
    /// in order, does not depend on the number of threads.
    static let gradientPiece = 32

    /// The gradient of the batch-mean `loss` over `batch` for every parameter. The batch is cut into
    /// pieces of `gradientPiece` samples, run on all cores, and their gradients added in order.
    /// BatchNormalization keeps its moving statistics and Dropout is off, as at inference.
    public func gradient(of loss: TrainingLoss, batch: Batch, labels: [Int]) throws -> LossGradient {
        guard endsInSoftmax else { throw EngineError.lossNeedsSoftmax(path: path) }
        guard !labels.isEmpty, labels.count == batch.samples else {
            throw EngineError.data(path: path, problem: "a training batch of \(batch.samples) samples has \(labels.count) labels")
        }
        let classes = classes
        if let bad = labels.first(where: { !(0..<classes).contains($0) }) {
            throw EngineError.data(path: path, problem: "label \(bad) is outside the model's \(classes) classes")
        }
        if case .classPenalty(let k) = loss, !(0..<classes).contains(k) {
            throw EngineError.data(path: path, problem: "class \(k) is outside the model's \(classes) classes")
        }
        if case .relabelled(let map) = loss, let bad = map.values.first(where: { !(0..<classes).contains($0) }) {
            throw EngineError.data(path: path, problem: "relabelled class \(bad) is outside the model's \(classes) classes")
        }
        let n = labels.count, width = batch.width
        let pieces = stride(from: 0, to: n, by: Self.gradientPiece).map { $0..<min($0 + Self.gradientPiece, n) }
        _ = AllocatorTuning.applied
        let slots = Slots<(GradientSink, Double)>(pieces.count)
        let network = self
        DispatchQueue.concurrentPerform(iterations: pieces.count) { index in
            let range = pieces[index]
            let input = Batch(values: Array(batch.values[(range.lowerBound * width)..<(range.upperBound * width)]),
                              shape: [range.count] + batch.shape.dropFirst())
            let (activations, kept) = network.forwardAll(input, keeping: true)
            let (deltas, lossSum) = loss.outputGradients(activations.last!.values, labels: Array(labels[range]), classes: classes)
            var sink = GradientSink(mode: .batch(range.count))
            network.backpropagate(activations, kept: kept, outputGradient: deltas, into: &sink)
            slots.base[index] = (sink, lossSum)
        }
        // Each piece holds the gradient of its own mean: weight it by its share of the batch.
        var sums: [String: [Double]] = [:]
        var lossSum = 0.0
        for index in pieces.indices {
            let (sink, pieceLoss) = slots.base[index]!
            let weight = Double(pieces[index].count) / Double(n)
            lossSum += pieceLoss
            for (name, contribution) in sink.contributions {
                sums[name, default: [Double](repeating: 0, count: contribution.count)].withUnsafeMutableBufferPointer { sum in
                    for j in sum.indices { sum[j] += weight * Double(contribution[j]) }
                }
            }
        }
        var gradients = sums.mapValues { $0.map(Float.init) }
        for (name, shape) in parameters where gradients[name] == nil {
            gradients[name] = [Float](repeating: 0, count: shape.reduce(1, *))  // no gradient reaches it
        }
        return LossGradient(loss: lossSum / Double(n), gradients: gradients)
    }
}
