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
    /// `forward`, and what this layer's `backward` would otherwise recompute from the input (a
    /// recurrent layer's per-step gates), for a forward that a backward on the same batch follows;
    /// nil when the layer keeps nothing.
    func forwardKeeping(_ input: Batch) -> (output: Batch, kept: AnyObject?)
    /// `backward` given what `forwardKeeping` kept for this `input` (nil: recompute it). The same
    /// values, bit for bit, either way.
    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  kept: AnyObject?, into sink: inout GradientSink) -> Batch?
    /// The activation the layer ends in (its `activation`, or an Activation layer's function).
    var finalActivation: ActivationFunction { get }
    /// The same layer without its final activation: its logits where that is a softmax or sigmoid.
    func linearized() -> any Layer
    /// Sizes whose product is the scratch values one sample's forward pass holds besides the
    /// layer's output (a convolution's im2col matrix), for an input shape; nil when none.
    func scratchFactors(for input: [Int]) -> [Int]?
}

extension Layer {
    var parameters: [(name: String, shape: [Int])] { [] }
    var weights: [String: [Float]] { [:] }
    func replacing(_ values: [String: [Float]]) -> any Layer { self }
    var finalActivation: ActivationFunction { .linear }
    func linearized() -> any Layer { self }
    func scratchFactors(for input: [Int]) -> [Int]? { nil }
    func forwardKeeping(_ input: Batch) -> (output: Batch, kept: AnyObject?) { (forward(input), nil) }
    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  kept: AnyObject?, into sink: inout GradientSink) -> Batch? {
        backward(input: input, output: output, gradient: gradient, fusedSoftmax: fusedSoftmax, inputGradient: inputGradient, into: &sink)
    }
}

/// `values[name]` when `name` is given and replaced there, else `current`.
func replaced(_ current: [Float], _ name: String?, in values: [String: [Float]]) -> [Float] {
    name.flatMap { values[$0] } ?? current
}

extension Array where Element == Float {
    /// `row` repeated `count` times: a bias in every row, for a product to add itself onto
    /// (`GEMM.add`), which saves the product's zeroing of its output and a second pass adding the bias.
    init(rows row: [Float], count: Int) {
        let total = row.count * count
        self.init(unsafeUninitializedCapacity: total) { v, initialized in
            if total > 0 {
                row.withUnsafeBufferPointer { b in
                    for r in 0..<count { (v.baseAddress! + r * b.count).initialize(from: b.baseAddress!, count: b.count) }
                }
            }
            initialized = total
        }
    }

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
