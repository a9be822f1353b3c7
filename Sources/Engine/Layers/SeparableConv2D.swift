/// Keras SeparableConv2D: a depthwise convolution (no bias, no activation) then a pointwise one
/// (1 × 1, kernel stored (1, 1, in · multiplier, filters)) with the bias and the activation.
struct SeparableConv2D: Layer {
    let depthwise: DepthwiseConv2D
    /// The pointwise convolution: a Dense on every position.
    let pointwise: Dense

    var name: String { depthwise.name }
    var parameters: [(name: String, shape: [Int])] { depthwise.parameters + pointwise.parameters }
    var weights: [String: [Float]] { depthwise.weights.merging(pointwise.weights) { first, _ in first } }

    func replacing(_ values: [String: [Float]]) -> any Layer {
        SeparableConv2D(depthwise: depthwise.with(values), pointwise: pointwise.with(values))
    }

    var finalActivation: ActivationFunction { pointwise.activation }
    func linearized() -> any Layer { SeparableConv2D(depthwise: depthwise, pointwise: pointwise.withoutActivation()) }

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        try pointwise.outputShape(for: try depthwise.outputShape(for: input, path: path), path: path)
    }

    func forward(_ input: Batch) -> Batch { pointwise.forward(depthwise.forward(input)) }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        let middle = depthwise.forward(input)
        guard let above = pointwise.backward(input: middle, output: output, gradient: gradient, fusedSoftmax: fusedSoftmax,
                                             inputGradient: true, into: &sink) else { return nil }
        return depthwise.backward(input: input, output: middle, gradient: above, fusedSoftmax: false, inputGradient: inputGradient, into: &sink)
    }
}
