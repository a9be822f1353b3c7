/// Keras BatchNormalization at inference over the last axis: y = γ (x − μ) / √(σ² + ε) + β with the
/// stored moving mean and variance (which no gradient reaches). Model passes train γ and β with
/// the layer in this inference form: the moving statistics never change.
struct BatchNormalization: Layer {
    let name: String
    let gamma: [Float]?, beta: [Float]?
    let mean: [Float], variance: [Float]
    let epsilon: Float
    let gammaName: String?, betaName: String?
    let meanName: String, varianceName: String

    var channels: Int { mean.count }

    var parameters: [(name: String, shape: [Int])] {
        (gammaName.map { [($0, [channels])] } ?? []) + (betaName.map { [($0, [channels])] } ?? [])
    }

    var weights: [String: [Float]] {
        var weights = [meanName: mean, varianceName: variance]
        if let gammaName, let gamma { weights[gammaName] = gamma }
        if let betaName, let beta { weights[betaName] = beta }
        return weights
    }

    func replacing(_ values: [String: [Float]]) -> any Layer {
        BatchNormalization(name: name, gamma: gamma.map { replaced($0, gammaName, in: values) }, beta: beta.map { replaced($0, betaName, in: values) },
                           mean: replaced(mean, meanName, in: values), variance: replaced(variance, varianceName, in: values),
                           epsilon: epsilon, gammaName: gammaName, betaName: betaName, meanName: meanName, varianceName: varianceName)
    }

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        guard input.last == channels else { throw EngineError.shapeMismatch(path: path, layer: name, expected: [channels], actual: input) }
        return input
    }

    /// 1 / √(σ² + ε) per channel.
    private var inverseDeviation: [Float] { variance.map { 1 / ($0 + epsilon).squareRoot() } }

    func forward(_ input: Batch) -> Batch {
        let inverse = inverseDeviation
        let scale = (0..<channels).map { (gamma?[$0] ?? 1) * inverse[$0] }
        let shift = (0..<channels).map { (beta?[$0] ?? 0) - mean[$0] * scale[$0] }
        var out = input.values
        out.withUnsafeMutableBufferPointer { v in
            for row in stride(from: 0, to: v.count, by: channels) {
                for c in 0..<channels { v[row &+ c] = v[row &+ c] * scale[c] + shift[c] }
            }
        }
        return Batch(values: out, shape: input.shape)
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        let inverse = inverseDeviation
        let (n, perSample) = (input.samples, input.width)
        // Per sample and channel: Σ over positions of δ·x̂ (for γ) and of δ (for β).
        var gammaGradients = [Float](repeating: 0, count: n * channels), betaGradients = gammaGradients
        input.values.withUnsafeBufferPointer { x in
            gradient.values.withUnsafeBufferPointer { g in
                gammaGradients.withUnsafeMutableBufferPointer { dg in
                    betaGradients.withUnsafeMutableBufferPointer { db in
                        for s in 0..<n {
                            for row in stride(from: s * perSample, to: (s + 1) * perSample, by: channels) {
                                for c in 0..<channels {
                                    dg[s &* channels &+ c] += g[row &+ c] * (x[row &+ c] - mean[c]) * inverse[c]
                                    db[s &* channels &+ c] += g[row &+ c]
                                }
                            }
                        }
                    }
                }
            }
        }
        if let gammaName { sink.addPerSample(gammaName, gradients: gammaGradients, size: channels) }
        if let betaName { sink.addPerSample(betaName, gradients: betaGradients, size: channels) }
        guard inputGradient else { return nil }
        let scale = (0..<channels).map { (gamma?[$0] ?? 1) * inverse[$0] }
        var back = gradient.values
        back.withUnsafeMutableBufferPointer { v in
            for row in stride(from: 0, to: v.count, by: channels) {
                for c in 0..<channels { v[row &+ c] *= scale[c] }
            }
        }
        return Batch(values: back, shape: input.shape)
    }
}
