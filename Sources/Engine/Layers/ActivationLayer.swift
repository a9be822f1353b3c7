/// Keras Activation (and Softmax over the last axis): the function alone.
struct ActivationLayer: Layer {
    let name: String
    let function: ActivationFunction

    func outputShape(for input: [Int], path: String) throws -> [Int] { input }

    var finalActivation: ActivationFunction { function }

    func linearized() -> any Layer { Passthrough(name: name, kind: .identity) }

    func forward(_ input: Batch) -> Batch {
        var values = input.values
        function.apply(&values, classes: input.shape.last ?? 1)
        return Batch(values: values, shape: input.shape)
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        guard inputGradient else { return nil }
        var delta = gradient.values
        if !(fusedSoftmax && function == .softmax) {
            function.backpropagate(&delta, output: output.values, input: input.values, classes: input.shape.last ?? 1)
        }
        return Batch(values: delta, shape: input.shape)
    }
}
