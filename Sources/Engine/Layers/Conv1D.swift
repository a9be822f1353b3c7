/// Keras Conv1D (channels last, no dilation or groups) as a Conv2D one row high; kernel stored
/// (k, in, out). "causal" padding puts k − 1 zeros before the sequence, then a valid convolution.
struct Conv1D: Layer {
    /// The convolution of a (1, length, channels) image.
    let conv: Conv2D
    let causal: Bool

    var name: String { conv.name }
    var parameters: [(name: String, shape: [Int])] {
        [(conv.kernelName, [conv.kernelWidth, conv.channels, conv.filters])] + (conv.biasName.map { [($0, [conv.filters])] } ?? [])
    }
    var weights: [String: [Float]] { conv.weights }

    func replacing(_ values: [String: [Float]]) -> any Layer { Conv1D(conv: conv.with(values), causal: causal) }

    var finalActivation: ActivationFunction { conv.activation }
    func linearized() -> any Layer { Conv1D(conv: conv.withoutActivation(), causal: causal) }

    private var padding: Int { causal ? conv.kernelWidth - 1 : 0 }

    /// The image the convolution sees for a sequence of `shape` (length, channels).
    private func image(_ shape: [Int]) -> [Int] { [1, shape[0] + padding] + shape.dropFirst() }

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        guard input.count == 2, input[1] == conv.channels, input[0] <= Int.max / 2 else {
            throw EngineError.shapeMismatch(path: path, layer: name, expected: [-1, conv.channels], actual: input)
        }
        return Array(try conv.outputShape(for: image(input), path: path).dropFirst())
    }

    func scratchFactors(for input: [Int]) -> [Int]? { conv.patchFactors(for: image(input)) }

    /// The sequences as images, with the causal zeros before each.
    private func padded(_ input: Batch) -> Batch {
        let (n, length, channels) = (input.samples, input.shape[1], input.shape[2])
        guard padding > 0 else { return Batch(values: input.values, shape: [n, 1, length, channels]) }
        var values = [Float](repeating: 0, count: n * (length + padding) * channels)
        for s in 0..<n {
            let (to, from) = ((s * (length + padding) + padding) * channels, s * length * channels)
            values.replaceSubrange(to..<(to + length * channels), with: input.values[from..<(from + length * channels)])
        }
        return Batch(values: values, shape: [n, 1, length + padding, channels])
    }

    func forward(_ input: Batch) -> Batch {
        let out = conv.forward(padded(input))
        return Batch(values: out.values, shape: [out.shape[0], out.shape[2], out.shape[3]])
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        let image = padded(input)
        let shape = [output.shape[0], 1, output.shape[1], output.shape[2]]
        guard let back = conv.backward(input: image, output: Batch(values: output.values, shape: shape),
                                       gradient: Batch(values: gradient.values, shape: shape), fusedSoftmax: fusedSoftmax,
                                       inputGradient: inputGradient, into: &sink) else { return nil }
        let (n, length, channels) = (input.samples, input.shape[1], input.shape[2])
        guard padding > 0 else { return Batch(values: back.values, shape: input.shape) }
        var values: [Float] = []
        values.reserveCapacity(input.values.count)
        for s in 0..<n {
            let from = (s * (length + padding) + padding) * channels
            values += back.values[from..<(from + length * channels)]
        }
        return Batch(values: values, shape: input.shape)
    }
}
