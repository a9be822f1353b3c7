/// One layer of a network the engine runs: a forward pass over a batch, and a backward pass that
/// turns dL/d(output) into dL/d(input) while reporting each parameter's per-sample gradients.
protocol Layer: Sendable {
    var name: String { get }
    /// Parameter tensors (checkpoint names) and shapes, in the order gradients are reported.
    var parameters: [(name: String, shape: [Int])] { get }
    /// The output shape (without the batch axis) for an input shape; throws if the input does not fit.
    func outputShape(for input: [Int], path: String) throws -> [Int]
    func forward(_ input: Batch) -> Batch
    /// `gradient` is dL/d(output) per sample. With `fusedSoftmax` the layer's softmax activation is
    /// skipped: the gradient is already taken with respect to the softmax's input.
    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, into sink: inout GradientSink) -> Batch
}

extension Layer {
    var parameters: [(name: String, shape: [Int])] { [] }
}

/// The activations Keras layers name in `activation`.
enum ActivationFunction: String, Sendable {
    case linear, relu, sigmoid, tanh, softmax

    init(keras name: String, layer: String, path: String) throws {
        guard let function = ActivationFunction(rawValue: name) else {
            throw EngineError.unsupportedOption(path: path, layer: layer, option: "activation '\(name)'")
        }
        self = function
    }

    /// Applies the function in place; softmax over the last axis of width `classes`.
    func apply(_ values: inout [Float], classes: Int) {
        switch self {
        case .linear: break
        case .relu: for i in values.indices where values[i] < 0 { values[i] = 0 }
        case .sigmoid: for i in values.indices { values[i] = 1 / (1 + (-values[i]).exponential) }
        case .tanh: for i in values.indices { values[i] = values[i].hyperbolicTangent }
        case .softmax:
            for row in stride(from: 0, to: values.count, by: classes) {
                let range = row..<(row + classes)
                let peak = values[range].max() ?? 0
                var sum: Float = 0
                for i in range { values[i] = (values[i] - peak).exponential; sum += values[i] }
                for i in range { values[i] /= sum }
            }
        }
    }

    /// Multiplies `gradient` by the derivative, expressed through the function's output.
    func backpropagate(_ gradient: inout [Float], output: [Float], classes: Int) {
        switch self {
        case .linear: break
        case .relu: for i in gradient.indices where output[i] <= 0 { gradient[i] = 0 }
        case .sigmoid: for i in gradient.indices { gradient[i] *= output[i] * (1 - output[i]) }
        case .tanh: for i in gradient.indices { gradient[i] *= 1 - output[i] * output[i] }
        case .softmax:
            // Full Jacobian: g_i ← p_i (g_i − Σ_j g_j p_j).
            for row in stride(from: 0, to: gradient.count, by: classes) {
                let range = row..<(row + classes)
                var dot: Float = 0
                for i in range { dot += gradient[i] * output[i] }
                for i in range { gradient[i] = output[i] * (gradient[i] - dot) }
            }
        }
    }
}

extension Float {
    var exponential: Float { Float(Foundation.exp(Double(self))) }
    var hyperbolicTangent: Float { Float(Foundation.tanh(Double(self))) }
}

import Foundation
