import Foundation

/// One layer of a network the engine runs: a forward pass over a batch, and a backward pass that
/// turns dL/d(output) into dL/d(input) while reporting each parameter's per-sample gradients.
protocol Layer: Sendable {
    var name: String { get }
    /// Parameter tensors (checkpoint names) and shapes, in the order gradients are reported.
    var parameters: [(name: String, shape: [Int])] { get }
    /// Every tensor the layer reads from the checkpoint (parameters and running statistics), by name.
    var weights: [String: [Float]] { get }
    /// The same layer with the tensors named in `values` replaced (same sizes, checked by `Network`).
    func replacing(_ values: [String: [Float]]) -> any Layer
    /// The output shape (without the batch axis) for an input shape; throws if the input does not fit.
    func outputShape(for input: [Int], path: String) throws -> [Int]
    func forward(_ input: Batch) -> Batch
    /// `gradient` is dL/d(output) per sample. With `fusedSoftmax` the layer's softmax activation is
    /// skipped: the gradient is already taken with respect to the softmax's input. Returns
    /// dL/d(input), or nil when `inputGradient` is false (no layer below has parameters).
    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch?
}

extension Layer {
    var parameters: [(name: String, shape: [Int])] { [] }
    var weights: [String: [Float]] { [:] }
    func replacing(_ values: [String: [Float]]) -> any Layer { self }
}

/// `values[name]` when `name` is given and replaced there, else `current`.
func replaced(_ current: [Float], _ name: String?, in values: [String: [Float]]) -> [Float] {
    name.flatMap { values[$0] } ?? current
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
        values.withUnsafeMutableBufferPointer { v in
            switch self {
            case .linear: break
            case .relu: for i in v.indices { v[i] = v[i] < 0 ? 0 : v[i] }
            case .sigmoid: for i in v.indices { v[i] = 1 / (1 + Foundation.exp(-v[i])) }
            case .tanh: for i in v.indices { v[i] = Foundation.tanh(v[i]) }
            case .softmax:
                for row in stride(from: 0, to: v.count, by: classes) {
                    var peak = v[row]
                    for i in row..<(row + classes) { peak = Swift.max(peak, v[i]) }
                    var sum: Float = 0
                    for i in row..<(row + classes) { v[i] = Foundation.exp(v[i] - peak); sum += v[i] }
                    for i in row..<(row + classes) { v[i] /= sum }
                }
            }
        }
    }

    /// Multiplies `gradient` by the derivative, expressed through the function's output.
    func backpropagate(_ gradient: inout [Float], output: [Float], classes: Int) {
        output.withUnsafeBufferPointer { y in
            gradient.withUnsafeMutableBufferPointer { g in
                switch self {
                case .linear: break
                case .relu: for i in g.indices { let v = g[i]; g[i] = y[i] > 0 ? v : 0 }  // load first: it vectorizes
                case .sigmoid: for i in g.indices { g[i] *= y[i] * (1 - y[i]) }
                case .tanh: for i in g.indices { g[i] *= 1 - y[i] * y[i] }
                case .softmax:
                    // Full Jacobian: g_i ← p_i (g_i − Σ_j g_j p_j).
                    for row in stride(from: 0, to: g.count, by: classes) {
                        var dot: Float = 0
                        for i in row..<(row + classes) { dot += g[i] * y[i] }
                        for i in row..<(row + classes) { g[i] = y[i] * (g[i] - dot) }
                    }
                }
            }
        }
    }
}

extension Array where Element == Float {
    /// Adds `bias` to every row (the last axis has `bias.count` values).
    mutating func addRowwise(_ bias: [Float]) {
        let width = bias.count
        precondition(width > 0 && count % width == 0, "\(count) values do not make rows of \(width)")
        bias.withUnsafeBufferPointer { b in
            withUnsafeMutableBufferPointer { v in
                for row in stride(from: 0, to: v.count, by: width) {
                    for j in 0..<width { v[row &+ j] += b[j] }
                }
            }
        }
    }
}
