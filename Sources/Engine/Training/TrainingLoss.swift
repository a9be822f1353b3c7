import Foundation

/// The loss a model pass follows, on the probabilities p of a model that ends in a softmax. Each is
/// clipped as Keras clips cross-entropy (probabilities kept in [ε, 1 − ε], ε = 1e-7, with zero
/// gradient outside), so a sample already at the clip contributes nothing. The batch loss is the
/// mean over the batch.
public enum TrainingLoss: Sendable, Equatable {
    /// −log p_y: ordinary training toward the labels.
    case crossEntropy
    /// +log p_y: gradient ascent on the cross-entropy (unlearning the labels).
    case negativeCrossEntropy
    /// −log p_{map(y)}: cross-entropy toward relabelled targets (labels not in the map are kept).
    case relabelled([Int: Int])
    /// −log(1 − p_k): a penalty on class k's probability, for every sample whatever its label.
    case classPenalty(Int)
    /// −log(1 − p_y): a penalty on each sample's own label (for forget samples: their class).
    case labelPenalty

    static let epsilon: Float = 1e-7

    /// The loss's gradient with respect to the softmax's input z for every sample (row per sample)
    /// and the sum of the per-sample losses. `labels` must be within `classes`.
    public func outputGradients(_ probabilities: [Float], labels: [Int], classes: Int) -> (deltas: [Float], lossSum: Double) {
        let epsilon = Self.epsilon
        var deltas = [Float](repeating: 0, count: probabilities.count)
        var lossSum = 0.0
        probabilities.withUnsafeBufferPointer { p in
            deltas.withUnsafeMutableBufferPointer { d in
                for (sample, label) in labels.enumerated() {
                    let row = sample * classes
                    switch self {
                    case .crossEntropy, .negativeCrossEntropy, .relabelled:
                        // d(−log p_t)/dz_j = p_j − [j = t], zero where the clip bites.
                        let target: Int
                        if case .relabelled(let map) = self { target = map[label] ?? label } else { target = label }
                        let sign: Float = self == .negativeCrossEntropy ? -1 : 1
                        let pt = p[row + target]
                        lossSum += Double(sign) * -Foundation.log(Double(min(max(pt, epsilon), 1 - epsilon)))
                        guard pt >= epsilon, pt <= 1 - epsilon else { continue }
                        for j in 0..<classes { d[row + j] = sign * p[row + j] }
                        d[row + target] -= sign
                    case .classPenalty, .labelPenalty:
                        // L = −log q, q = 1 − p_k: dL/dz_j = p_k (δ_jk − p_j) / q.
                        let k: Int
                        if case .classPenalty(let c) = self { k = c } else { k = label }
                        let q = 1 - p[row + k]
                        lossSum += -Foundation.log(Double(min(max(q, epsilon), 1 - epsilon)))
                        guard q >= epsilon, q <= 1 - epsilon else { continue }
                        let scale = p[row + k] / q
                        for j in 0..<classes { d[row + j] = -scale * p[row + j] }
                        d[row + k] += scale
                    }
                }
            }
        }
        return (deltas, lossSum)
    }
}
