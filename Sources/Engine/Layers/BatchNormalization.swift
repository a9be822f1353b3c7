import Foundation

/// Keras BatchNormalization at inference over the last axis: y = γ (x − μ) / √(σ² + ε) + β with the
/// stored moving mean and variance (which no gradient reaches).
struct BatchNormalization: Layer {
    let name: String
    let gamma: [Float]?, beta: [Float]?
    let mean: [Float], variance: [Float]
    let epsilon: Float
    let gammaName: String?, betaName: String?

    var channels: Int { mean.count }

    var parameters: [(name: String, shape: [Int])] {
        (gammaName.map { [($0, [channels])] } ?? []) + (betaName.map { [($0, [channels])] } ?? [])
    }

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        guard input.last == channels else { throw EngineError.shapeMismatch(path: path, layer: name, expected: [channels], actual: input) }
        return input
    }

    private var scale: [Float] { (0..<channels).map { (gamma?[$0] ?? 1) / (variance[$0] + epsilon).squareRoot() } }

    func forward(_ input: Batch) -> Batch {
        let scale = scale
        var out = input.values
        for i in out.indices {
            let c = i % channels
            out[i] = (out[i] - mean[c]) * scale[c] + (beta?[c] ?? 0)
        }
        return Batch(values: out, shape: input.shape)
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, into sink: inout GradientSink) -> Batch {
        let scale = scale
        let perSample = input.width
        let n = input.samples
        if let gammaName {
            var grads = [Float](repeating: 0, count: n * channels)
            for s in 0..<n {
                for j in 0..<perSample {
                    let i = s * perSample + j, c = j % channels
                    let normalized = (input.values[i] - mean[c]) / (variance[c] + epsilon).squareRoot()
                    grads[s * channels + c] += gradient.values[i] * normalized
                }
            }
            sink.addPerSample(gammaName, gradients: grads, n: n, size: channels)
        }
        if let betaName {
            var grads = [Float](repeating: 0, count: n * channels)
            for s in 0..<n { for j in 0..<perSample { grads[s * channels + j % channels] += gradient.values[s * perSample + j] } }
            sink.addPerSample(betaName, gradients: grads, n: n, size: channels)
        }
        var back = gradient.values
        for i in back.indices { back[i] *= scale[i % channels] }
        return Batch(values: back, shape: input.shape)
    }
}
