/// Keras PReLU: x where x > 0, else α · x, with a learned α per value of a sample, shared along
/// the axes Keras' `shared_axes` names (stored there with size 1, broadcast).
struct PReLU: Layer {
    let name: String
    let alpha: [Float]
    let alphaShape: [Int]
    let alphaName: String

    var parameters: [(name: String, shape: [Int])] { [(alphaName, alphaShape)] }
    var weights: [String: [Float]] { [alphaName: alpha] }

    func replacing(_ values: [String: [Float]]) -> any Layer {
        PReLU(name: name, alpha: replaced(alpha, alphaName, in: values), alphaShape: alphaShape, alphaName: alphaName)
    }

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        guard alphaShape.count == input.count, zip(alphaShape, input).allSatisfy({ $0 == $1 || $0 == 1 }) else {
            throw EngineError.weightShape(path: path, layer: name, tensor: alphaName, expected: "the input's shape \(input), or 1 along shared axes",
                                          actual: alphaShape)
        }
        return input
    }

    /// Each value's α, for one sample of `shape`.
    private func slopes(_ shape: [Int]) -> [Int] {
        ElementwiseMerge.broadcastMap(alphaShape, to: shape) ?? Array(0..<alpha.count)
    }

    func forward(_ input: Batch) -> Batch {
        let map = slopes(Array(input.shape.dropFirst()))
        let width = input.width
        var values = input.values
        values.withUnsafeMutableBufferPointer { v in
            for s in 0..<input.samples {
                for j in 0..<width {
                    let x = v[s &* width &+ j]
                    v[s &* width &+ j] = x > 0 ? x : alpha[map[j]] * x
                }
            }
        }
        return Batch(values: values, shape: input.shape)
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        let map = slopes(Array(input.shape.dropFirst()))
        let (n, width) = (input.samples, input.width)
        // dy/dα = min(x, 0), added over the values that share an α.
        var perSample = [Float](repeating: 0, count: n * alpha.count)
        var delta = gradient.values
        input.values.withUnsafeBufferPointer { x in
            delta.withUnsafeMutableBufferPointer { g in
                perSample.withUnsafeMutableBufferPointer { d in
                    for s in 0..<n {
                        for j in 0..<width {
                            let i = s &* width &+ j
                            if x[i] < 0 { d[s &* alpha.count &+ map[j]] += g[i] * x[i] }
                            g[i] *= x[i] > 0 ? 1 : alpha[map[j]]
                        }
                    }
                }
            }
        }
        sink.addPerSample(alphaName, gradients: perSample, size: alpha.count)
        return inputGradient ? Batch(values: delta, shape: input.shape) : nil
    }
}
