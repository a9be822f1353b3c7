import Foundation

/// Keras LayerNormalization over the last axis: at every position, x̂ = (x − μ) / √(σ² + ε) with the
/// mean and (biased) variance of that position's values, then γ · x̂ + β (either may be absent).
struct LayerNormalization: Layer {
    let name: String
    let gamma: [Float]?, beta: [Float]?
    let width: Int
    let epsilon: Float
    let gammaName: String?, betaName: String?

    var parameters: [(name: String, shape: [Int])] {
        (gammaName.map { [($0, [width])] } ?? []) + (betaName.map { [($0, [width])] } ?? [])
    }

    var weights: [String: [Float]] {
        var weights: [String: [Float]] = [:]
        if let gammaName, let gamma { weights[gammaName] = gamma }
        if let betaName, let beta { weights[betaName] = beta }
        return weights
    }

    func replacing(_ values: [String: [Float]]) -> any Layer {
        LayerNormalization(name: name, gamma: gamma.map { replaced($0, gammaName, in: values) }, beta: beta.map { replaced($0, betaName, in: values) },
                           width: width, epsilon: epsilon, gammaName: gammaName, betaName: betaName)
    }

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        guard input.last == width else { throw EngineError.shapeMismatch(path: path, layer: name, expected: [width], actual: input) }
        return input
    }

    /// x̂ of every value, and 1 / √(σ² + ε) of every position.
    private func normalized(_ input: [Float]) -> (values: [Float], inverse: [Float]) {
        var values = input
        var inverse = [Float](repeating: 0, count: input.count / width)
        values.withUnsafeMutableBufferPointer { v in
            for (position, row) in stride(from: 0, to: v.count, by: width).enumerated() {
                var mean: Float = 0
                for j in 0..<width { mean += v[row &+ j] }
                mean /= Float(width)
                var variance: Float = 0
                for j in 0..<width { let d = v[row &+ j] - mean; variance += d * d }
                variance /= Float(width)
                let r = 1 / (variance + epsilon).squareRoot()
                for j in 0..<width { v[row &+ j] = (v[row &+ j] - mean) * r }
                inverse[position] = r
            }
        }
        return (values, inverse)
    }

    func forward(_ input: Batch) -> Batch {
        var (values, _) = normalized(input.values)
        values.withUnsafeMutableBufferPointer { v in
            for row in stride(from: 0, to: v.count, by: width) {
                for j in 0..<width { v[row &+ j] = v[row &+ j] * (gamma?[j] ?? 1) + (beta?[j] ?? 0) }
            }
        }
        return Batch(values: values, shape: input.shape)
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        let (x̂, inverse) = normalized(input.values)
        let n = input.samples, positions = input.values.count / max(width * n, 1)
        var scaleGradients = [Float](repeating: 0, count: n * width), shiftGradients = scaleGradients
        var back = [Float](repeating: 0, count: inputGradient ? input.values.count : 0)
        gradient.values.withUnsafeBufferPointer { g in
            for s in 0..<n {
                for p in 0..<positions {
                    let position = s &* positions &+ p, row = position &* width
                    // dx = r · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)), ĝ = γ · g.
                    var meanG: Float = 0, meanGX: Float = 0
                    for j in 0..<width {
                        scaleGradients[s &* width &+ j] += g[row &+ j] * x̂[row &+ j]
                        shiftGradients[s &* width &+ j] += g[row &+ j]
                        let scaled = g[row &+ j] * (gamma?[j] ?? 1)
                        meanG += scaled
                        meanGX += scaled * x̂[row &+ j]
                    }
                    guard inputGradient else { continue }
                    (meanG, meanGX) = (meanG / Float(width), meanGX / Float(width))
                    for j in 0..<width {
                        back[row &+ j] = inverse[position] * (g[row &+ j] * (gamma?[j] ?? 1) - meanG - x̂[row &+ j] * meanGX)
                    }
                }
            }
        }
        if let gammaName { sink.addPerSample(gammaName, gradients: scaleGradients, size: width) }
        if let betaName { sink.addPerSample(betaName, gradients: shiftGradients, size: width) }
        return inputGradient ? Batch(values: back, shape: input.shape) : nil
    }
}
