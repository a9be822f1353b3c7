/// Keras' preprocessing Normalization over the last axis: (x − mean) / max(√variance, ε), or with
/// `invert` mean + x · max(√variance, ε), ε = 1e-7 (Keras' epsilon); mean and variance are
/// learned from data (`adapt`) and stored as weights, or given in the config. No gradient reaches them.
struct Normalization: Layer {
    let name: String
    let mean: [Float], variance: [Float]
    let invert: Bool
    /// The stored tensors' names, where the mean and variance are weights.
    let meanName: String?, varianceName: String?

    static let epsilon: Float = 1e-7

    var weights: [String: [Float]] {
        var weights: [String: [Float]] = [:]
        if let meanName { weights[meanName] = mean }
        if let varianceName { weights[varianceName] = variance }
        return weights
    }

    func replacing(_ values: [String: [Float]]) -> any Layer {
        Normalization(name: name, mean: meanName.map { replaced(mean, $0, in: values) } ?? mean,
                      variance: varianceName.map { replaced(variance, $0, in: values) } ?? variance,
                      invert: invert, meanName: meanName, varianceName: varianceName)
    }

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        for values in [mean, variance] where values.count != 1 && values.count != input.last {
            throw EngineError.unsupportedOption(path: path, layer: name, option: "\(values.count) means or variances for \(input.last ?? 0) channels")
        }
        return input
    }

    /// max(√variance, ε) of channel `c`.
    @inline(__always) private func deviation(_ c: Int) -> Float {
        Swift.max(variance[variance.count == 1 ? 0 : c].squareRoot(), Self.epsilon)
    }

    func forward(_ input: Batch) -> Batch {
        let channels = input.shape.last ?? 1
        let deviations = (0..<channels).map(deviation)
        var values = input.values
        values.withUnsafeMutableBufferPointer { v in
            for i in v.indices {
                let c = i % channels
                let m = mean[mean.count == 1 ? 0 : c]
                v[i] = invert ? m + v[i] * deviations[c] : (v[i] - m) / deviations[c]
            }
        }
        return Batch(values: values, shape: input.shape)
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        guard inputGradient else { return nil }
        let channels = input.shape.last ?? 1
        let deviations = (0..<channels).map(deviation)
        var delta = gradient.values
        delta.withUnsafeMutableBufferPointer { g in
            for i in g.indices { g[i] = invert ? g[i] * deviations[i % channels] : g[i] / deviations[i % channels] }
        }
        return Batch(values: delta, shape: input.shape)
    }
}
