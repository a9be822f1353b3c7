/// Layers with no parameters that only reshape or pass values on: InputLayer, Dropout (identity at
/// inference), Flatten (row-major, so the values do not move), and Activation.
struct Passthrough: Layer {
    enum Kind: Sendable { case identity, flatten }

    let name: String
    let kind: Kind

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        kind == .flatten ? [input.reduce(1, *)] : input
    }

    func forward(_ input: Batch) -> Batch {
        kind == .flatten ? Batch(values: input.values, shape: [input.samples, input.width]) : input
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        inputGradient ? Batch(values: gradient.values, shape: input.shape) : nil
    }
}

/// Keras Activation: the function alone.
struct ActivationLayer: Layer {
    let name: String
    let function: ActivationFunction

    func outputShape(for input: [Int], path: String) throws -> [Int] { input }

    func forward(_ input: Batch) -> Batch {
        var values = input.values
        function.apply(&values, classes: input.shape.last ?? 1)
        return Batch(values: values, shape: input.shape)
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        guard inputGradient else { return nil }
        var delta = gradient.values
        if !(fusedSoftmax && function == .softmax) { function.backpropagate(&delta, output: output.values, classes: input.shape.last ?? 1) }
        return Batch(values: delta, shape: input.shape)
    }
}
