/// Keras DepthwiseConv2D (channels last, no dilation): each input channel c convolved with its own
/// `multiplier` filters, kernel stored (kh, kw, in, multiplier), output channel c · multiplier + m.
struct DepthwiseConv2D: Layer {
    let name: String
    let kernel: [Float]
    let bias: [Float]?
    let kernelHeight: Int, kernelWidth: Int, channels: Int, multiplier: Int
    let strides: (Int, Int)
    let samePadding: Bool
    let activation: ActivationFunction
    let kernelName: String, biasName: String?

    var outputs: Int { channels * multiplier }

    var parameters: [(name: String, shape: [Int])] {
        [(kernelName, [kernelHeight, kernelWidth, channels, multiplier])] + (biasName.map { [($0, [outputs])] } ?? [])
    }

    var weights: [String: [Float]] {
        var weights = [kernelName: kernel]
        if let biasName, let bias { weights[biasName] = bias }
        return weights
    }

    func replacing(_ values: [String: [Float]]) -> any Layer { with(values) }

    /// `replacing` as a DepthwiseConv2D.
    func with(_ values: [String: [Float]]) -> DepthwiseConv2D {
        with(kernel: replaced(kernel, kernelName, in: values), bias: bias.map { replaced($0, biasName, in: values) }, activation: activation)
    }

    func with(kernel: [Float], bias: [Float]?, activation: ActivationFunction) -> DepthwiseConv2D {
        DepthwiseConv2D(name: name, kernel: kernel, bias: bias, kernelHeight: kernelHeight, kernelWidth: kernelWidth, channels: channels,
                        multiplier: multiplier, strides: strides, samePadding: samePadding, activation: activation,
                        kernelName: kernelName, biasName: biasName)
    }

    var finalActivation: ActivationFunction { activation }
    func linearized() -> any Layer { with(kernel: kernel, bias: bias, activation: .linear) }

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        guard input.count == 3, input[2] == channels else {
            throw EngineError.shapeMismatch(path: path, layer: name, expected: [-1, -1, channels], actual: input)
        }
        let rows = Conv2D.geometry(input: input[0], kernel: kernelHeight, stride: strides.0, same: samePadding)
        let cols = Conv2D.geometry(input: input[1], kernel: kernelWidth, stride: strides.1, same: samePadding)
        guard rows.size > 0, cols.size > 0 else {
            throw EngineError.shapeMismatch(path: path, layer: name, expected: [kernelHeight, kernelWidth, channels], actual: input)
        }
        return [rows.size, cols.size, outputs]
    }

    /// Calls `body(sample, output, input, tap)` for every output position (offset of its first
    /// channel), every kernel tap inside the input (offset of the input's first channel there, and
    /// of the tap's first kernel value).
    private func forEachTap(_ shape: [Int], _ body: (Int, Int, Int, Int) -> Void) {
        let (n, height, width) = (shape[0], shape[1], shape[2])
        let rows = Conv2D.geometry(input: height, kernel: kernelHeight, stride: strides.0, same: samePadding)
        let cols = Conv2D.geometry(input: width, kernel: kernelWidth, stride: strides.1, same: samePadding)
        for s in 0..<n {
            for oy in 0..<rows.size {
                for ox in 0..<cols.size {
                    let o = ((s &* rows.size &+ oy) &* cols.size &+ ox) &* outputs
                    for ky in 0..<kernelHeight {
                        let y = oy &* strides.0 &- rows.padBefore &+ ky
                        guard y >= 0, y < height else { continue }
                        for kx in 0..<kernelWidth {
                            let x = ox &* strides.1 &- cols.padBefore &+ kx
                            guard x >= 0, x < width else { continue }
                            body(s, o, ((s &* height &+ y) &* width &+ x) &* channels, (ky &* kernelWidth &+ kx) &* outputs)
                        }
                    }
                }
            }
        }
    }

    private func outputShape(_ input: Batch) -> [Int] {
        let rows = Conv2D.geometry(input: input.shape[1], kernel: kernelHeight, stride: strides.0, same: samePadding)
        let cols = Conv2D.geometry(input: input.shape[2], kernel: kernelWidth, stride: strides.1, same: samePadding)
        return [input.samples, rows.size, cols.size, outputs]
    }

    /// The output before the activation. With one filter per channel (`multiplier` 1, as in
    /// MobileNet) the loop over channels is the innermost, so it vectorises; the same products are
    /// added in the same order as the general loop, so the two agree bit for bit. `general` takes
    /// the general loop regardless (for the tests).
    func linear(_ input: Batch, general: Bool = false) -> [Float] {
        let shape = outputShape(input)
        var out = [Float](repeating: 0, count: shape.reduce(1, *))
        let (channels, multiplier) = (channels, multiplier)
        input.values.withUnsafeBufferPointer { x in
            kernel.withUnsafeBufferPointer { k in
                out.withUnsafeMutableBufferPointer { y in
                    if multiplier == 1 && !general {
                        forEachTap(input.shape) { _, o, i, t in
                            for c in 0..<channels { y[o &+ c] += x[i &+ c] * k[t &+ c] }
                        }
                        return
                    }
                    forEachTap(input.shape) { _, o, i, t in
                        for c in 0..<channels {
                            let value = x[i &+ c]
                            for m in 0..<multiplier { y[o &+ c &* multiplier &+ m] += value * k[t &+ c &* multiplier &+ m] }
                        }
                    }
                }
            }
        }
        if let bias { out.addRowwise(bias) }
        return out
    }

    func forward(_ input: Batch) -> Batch {
        var out = linear(input)
        activation.apply(&out, classes: outputs)
        return Batch(values: out, shape: outputShape(input))
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        var delta = gradient.values
        if !(fusedSoftmax && activation == .softmax) {
            activation.backpropagate(&delta, output: output.values, input: activation.derivativeNeedsInput ? linear(input) : nil, classes: outputs)
        }
        let n = input.samples
        let (kernelGradients, back) = gradients(input: input, delta: delta, inputGradient: inputGradient)
        sink.addPerSample(kernelName, gradients: kernelGradients, size: kernel.count)
        if let biasName { sink.addPositionalSums(biasName, deltas: delta, n: n, positions: delta.count / max(n * outputs, 1), f: outputs) }
        return inputGradient ? Batch(values: back, shape: input.shape) : nil
    }

    /// Each sample's kernel gradient (samples × kernel values) and, with `inputGradient`, dL/d(input)
    /// (else empty), from the deltas of the output before the activation. With `multiplier` 1 the
    /// loop over channels is the innermost, as in `linear`, with the same additions in the same
    /// order (a sum of one product is that product: the general loop's 0 + p is p, except that −0
    /// becomes +0, which added to a sum that starts at +0 changes nothing). `general` as in `linear`.
    func gradients(input: Batch, delta: [Float], inputGradient: Bool, general: Bool = false) -> (kernel: [Float], input: [Float]) {
        let n = input.samples, size = kernel.count
        var kernelGradients = [Float](repeating: 0, count: n * size)
        var back = [Float](repeating: 0, count: inputGradient ? input.values.count : 0)
        let (channels, multiplier) = (channels, multiplier)
        input.values.withUnsafeBufferPointer { x in
            kernel.withUnsafeBufferPointer { k in
                delta.withUnsafeBufferPointer { d in
                    kernelGradients.withUnsafeMutableBufferPointer { gk in
                        back.withUnsafeMutableBufferPointer { b in
                            if multiplier == 1 && !general {
                                forEachTap(input.shape) { s, o, i, t in
                                    let g = s &* size &+ t
                                    for c in 0..<channels { gk[g &+ c] += x[i &+ c] * d[o &+ c] }
                                    if inputGradient {
                                        for c in 0..<channels { b[i &+ c] += d[o &+ c] * k[t &+ c] }
                                    }
                                }
                                return
                            }
                            forEachTap(input.shape) { s, o, i, t in
                                let g = s &* size &+ t
                                for c in 0..<channels {
                                    var sum: Float = 0
                                    for m in 0..<multiplier {
                                        let j = c &* multiplier &+ m
                                        gk[g &+ j] += x[i &+ c] * d[o &+ j]
                                        sum += d[o &+ j] * k[t &+ j]
                                    }
                                    if inputGradient { b[i &+ c] += sum }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (kernelGradients, back)
    }
}
