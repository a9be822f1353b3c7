/// Layers with no parameters that only pass values on: Dropout and the like (identity at inference),
/// Flatten (row-major, so the values do not move).
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
