/// Keras Dense: y = activation(x · W + b), W stored (in, out). On inputs of rank above 2 it acts on
/// the last axis at every position, as Keras' does.
struct Dense: Layer {
    let name: String
    let kernel: [Float]
    let bias: [Float]?
    let inputs: Int, units: Int
    let activation: ActivationFunction
    let kernelName: String, biasName: String?
    /// The kernel's shape as the file stores it (a pointwise convolution's is (1, 1, in, out)).
    let kernelShape: [Int]
    /// Zero inputs may be skipped only if no weight is infinite or NaN (0 · ∞ is NaN).
    private let kernelIsFinite: Bool

    init(name: String, kernel: [Float], bias: [Float]?, inputs: Int, units: Int, activation: ActivationFunction,
         kernelName: String, biasName: String?, kernelShape: [Int]? = nil) {
        (self.name, self.kernel, self.bias, self.inputs, self.units) = (name, kernel, bias, inputs, units)
        (self.activation, self.kernelName, self.biasName) = (activation, kernelName, biasName)
        self.kernelShape = kernelShape ?? [inputs, units]
        kernelIsFinite = kernel.allFinite
    }

    var parameters: [(name: String, shape: [Int])] {
        [(kernelName, kernelShape)] + (biasName.map { [($0, [units])] } ?? [])
    }

    var weights: [String: [Float]] {
        var weights = [kernelName: kernel]
        if let biasName, let bias { weights[biasName] = bias }
        return weights
    }

    func replacing(_ values: [String: [Float]]) -> any Layer { with(values) }

    /// `replacing` as a Dense.
    func with(_ values: [String: [Float]]) -> Dense {
        Dense(name: name, kernel: replaced(kernel, kernelName, in: values), bias: bias.map { replaced($0, biasName, in: values) },
              inputs: inputs, units: units, activation: activation, kernelName: kernelName, biasName: biasName, kernelShape: kernelShape)
    }

    var finalActivation: ActivationFunction { activation }

    func linearized() -> any Layer { withoutActivation() }

    func withoutActivation() -> Dense {
        Dense(name: name, kernel: kernel, bias: bias, inputs: inputs, units: units, activation: .linear,
              kernelName: kernelName, biasName: biasName, kernelShape: kernelShape)
    }

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        guard input.last == inputs else { throw EngineError.shapeMismatch(path: path, layer: name, expected: [inputs], actual: input) }
        return input.dropLast() + [units]
    }

    /// x · W + b, one row per position.
    private func linear(_ input: [Float]) -> [Float] {
        let rows = input.count / inputs
        var out = if kernelIsFinite, let live = LiveColumns(input, width: inputs) {
            GEMM.product(live.columns(of: input), live.rows(of: kernel, columns: units), m: rows, n: units, k: live.count)
        } else {
            GEMM.product(input, kernel, m: rows, n: units, k: inputs)
        }
        if let bias { out.addRowwise(bias) }
        return out
    }

    func forward(_ input: Batch) -> Batch {
        var out = linear(input.values)
        activation.apply(&out, classes: units)
        return Batch(values: out, shape: input.shape.dropLast() + [units])
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        var delta = gradient.values
        if !(fusedSoftmax && activation == .softmax) {
            activation.backpropagate(&delta, output: output.values, input: activation.derivativeNeedsInput ? linear(input.values) : nil,
                                     classes: units)
        }
        let rows = input.values.count / inputs
        if rows == input.samples {
            sink.addOuter(kernelName, inputs: input.values, deltas: delta, n: rows, k: inputs, f: units)
            if let biasName { sink.addPerSample(biasName, gradients: delta, size: units) }
        } else {
            // Every position of a sample adds to its gradient.
            sink.addPositional(kernelName, inputs: input.values, deltas: delta, n: input.samples, positions: rows / input.samples, k: inputs, f: units)
            if let biasName { sink.addPositionalSums(biasName, deltas: delta, n: input.samples, positions: rows / input.samples, f: units) }
        }
        guard inputGradient else { return nil }
        return Batch(values: GEMM.product(delta, kernel, transposeB: true, m: rows, n: inputs, k: units), shape: input.shape)
    }
}
