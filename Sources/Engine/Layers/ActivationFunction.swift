import Foundation

/// The activations Keras layers name in `activation` (and the Activation layer), as Keras 3 defines
/// them on the JAX backend: each a function of one value with its derivative, except softmax (over
/// the last axis). Sigmoid (1 / (1 + e^−x)) and tanh are `VectorMath`'s, for one value as for
/// buffers. `hardSigmoid` is Keras 3's relu6(x + 3) / 6; files Keras 2 wrote mean its
/// clip(0.2·x + 0.5, 0, 1), which `keras2HardSigmoid` is.
enum ActivationFunction: Sendable, CaseIterable {
    case linear, relu, relu6, sigmoid, tanh, softmax, elu, selu, gelu, softplus, softsign, exponential
    case leakyRelu, silu, hardSigmoid, hardSilu, keras2HardSigmoid

    /// The names Keras writes in `activation` (`swish` and `hard_swish` are other names of two).
    static let kerasNames: [String: ActivationFunction] = [
        "linear": .linear, "relu": .relu, "relu6": .relu6, "sigmoid": .sigmoid, "tanh": .tanh, "softmax": .softmax,
        "elu": .elu, "selu": .selu, "gelu": .gelu, "softplus": .softplus, "softsign": .softsign, "exponential": .exponential,
        "leaky_relu": .leakyRelu, "silu": .silu, "swish": .silu, "hard_sigmoid": .hardSigmoid, "hard_silu": .hardSilu,
        "hard_swish": .hardSilu,
    ]

    /// The function `name` means in a file Keras 2 (`keras2`) or Keras 3 wrote.
    init(keras name: String, layer: String, path: String, keras2: Bool = false) throws {
        guard let function = Self.kerasNames[name] else {
            throw EngineError.unsupportedOption(path: path, layer: layer, option: "activation '\(name)'")
        }
        self = keras2 && function == .hardSigmoid ? .keras2HardSigmoid : function
    }

    /// Keras' `leaky_relu` activation's slope below zero; ELU's alpha; SELU's alpha and scale.
    static let leakySlope: Float = 0.2
    static let seluAlpha: Float = 1.6732632423543772848170429916717
    static let seluScale: Float = 1.0507009873554804934193349852946

    /// Whether the derivative needs the function's input (else its output is enough).
    var derivativeNeedsInput: Bool {
        switch self {
        case .linear, .relu, .sigmoid, .tanh, .softmax, .exponential: false
        default: true
        }
    }

    /// f(x) for the functions of one value (not softmax).
    @inline(__always) func value(_ x: Float) -> Float {
        switch self {
        case .linear, .softmax: return x
        case .relu: return x < 0 ? 0 : x
        case .relu6: return Swift.min(Swift.max(x, 0), 6)
        case .sigmoid: return VectorMath.sigmoid(x)
        case .tanh: return VectorMath.tanh(x)
        case .elu: return x > 0 ? x : Foundation.expm1(x)
        case .selu: return Self.seluScale * (x > 0 ? x : Self.seluAlpha * Foundation.expm1(x))
        case .gelu: return 0.5 * x * (1 + Foundation.erf(x / Float(2).squareRoot()))
        case .softplus: return Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(x)))
        case .softsign: return x / (1 + Swift.abs(x))
        case .exponential: return Foundation.exp(x)
        case .leakyRelu: return x >= 0 ? x : Self.leakySlope * x
        case .silu: return x / (1 + Foundation.exp(-x))
        case .hardSigmoid: return Swift.min(Swift.max(x + 3, 0), 6) / 6
        case .hardSilu: return x * Swift.min(Swift.max(x + 3, 0), 6) / 6
        case .keras2HardSigmoid: return Swift.min(Swift.max(0.2 * x + 0.5, 0), 1)
        }
    }

    /// f'(x), given x and y = f(x) (softmax: not used).
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float {
        switch self {
        case .linear, .softmax: return 1
        case .relu: return y > 0 ? 1 : 0
        case .relu6: return x > 0 && x < 6 ? 1 : 0
        case .sigmoid: return y * (1 - y)
        case .tanh: return 1 - y * y
        case .elu: return x > 0 ? 1 : y + 1
        case .selu: return x > 0 ? Self.seluScale : Self.seluScale * Self.seluAlpha * Foundation.exp(x)
        case .gelu:
            let phi = Foundation.exp(-0.5 * x * x) / (2 * Float.pi).squareRoot()
            return 0.5 * (1 + Foundation.erf(x / Float(2).squareRoot())) + x * phi
        case .softplus: return 1 / (1 + Foundation.exp(-x))
        case .softsign: let d = 1 + Swift.abs(x); return 1 / (d * d)
        case .exponential: return y
        case .leakyRelu: return x >= 0 ? 1 : Self.leakySlope
        case .silu: let s = 1 / (1 + Foundation.exp(-x)); return s * (1 + x * (1 - s))
        case .hardSigmoid: return x > -3 && x < 3 ? 1 / 6 : 0
        case .hardSilu: return x <= -3 ? 0 : x >= 3 ? 1 : (2 * x + 3) / 6
        case .keras2HardSigmoid: return x > -2.5 && x < 2.5 ? 0.2 : 0
        }
    }

    /// Applies the function in place; softmax over the last axis of width `classes`.
    func apply(_ values: inout [Float], classes: Int) {
        values.withUnsafeMutableBufferPointer { v in
            guard self == .softmax else { return apply(v.baseAddress, count: v.count) }
            guard classes > 0 else { return }
            for row in stride(from: 0, to: v.count, by: classes) {
                var peak = v[row]
                for i in row..<(row + classes) { peak = Swift.max(peak, v[i]) }
                var sum: Float = 0
                for i in row..<(row + classes) { v[i] = Foundation.exp(v[i] - peak); sum += v[i] }
                for i in row..<(row + classes) { v[i] /= sum }
            }
        }
    }

    /// Applies a function of one value (not softmax: it is left as it is, as `value` does) to
    /// `count` values in place.
    func apply(_ values: UnsafeMutablePointer<Float>?, count: Int) {
        guard let values, count > 0 else { return }
        switch self {
        case .linear, .softmax: break
        case .relu: for i in 0..<count { values[i] = values[i] < 0 ? 0 : values[i] }
        case .sigmoid: VectorMath.sigmoid(values, count: count)
        case .tanh: VectorMath.tanh(values, count: count)
        default: for i in 0..<count { values[i] = value(values[i]) }
        }
    }

    /// `apply` from `source` into `destination` (the same buffer, or one that does not overlap it).
    func apply(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        switch self {
        case .sigmoid: VectorMath.sigmoid(source, into: destination, count: count)
        case .tanh: VectorMath.tanh(source, into: destination, count: count)
        default:
            if UnsafePointer(destination) != source { destination.update(from: source, count: count) }
            apply(destination, count: count)
        }
    }

    /// Multiplies `gradient` by the derivative at each value: through the function's output, and
    /// its input where the derivative needs it (`derivativeNeedsInput`; the caller gives it then).
    func backpropagate(_ gradient: inout [Float], output: [Float], input: [Float]? = nil, classes: Int) {
        output.withUnsafeBufferPointer { y in
            gradient.withUnsafeMutableBufferPointer { g in
                switch self {
                case .linear: break
                case .relu: for i in g.indices { let v = g[i]; g[i] = y[i] > 0 ? v : 0 }  // load first: it vectorizes
                case .sigmoid: for i in g.indices { g[i] *= y[i] * (1 - y[i]) }
                case .tanh: for i in g.indices { g[i] *= 1 - y[i] * y[i] }
                case .softmax:
                    // Full Jacobian: g_i ← p_i (g_i − Σ_j g_j p_j).
                    guard classes > 0 else { return }
                    for row in stride(from: 0, to: g.count, by: classes) {
                        var dot: Float = 0
                        for i in row..<(row + classes) { dot += g[i] * y[i] }
                        for i in row..<(row + classes) { g[i] = y[i] * (g[i] - dot) }
                    }
                default:
                    precondition(input != nil || !derivativeNeedsInput, "the derivative of \(self) needs its input")
                    (input ?? output).withUnsafeBufferPointer { x in
                        for i in g.indices { g[i] *= derivative(x[i], y[i]) }
                    }
                }
            }
        }
    }
}
