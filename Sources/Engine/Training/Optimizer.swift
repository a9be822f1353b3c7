import Foundation

/// Updates parameters from their gradients, as Keras 3's optimizers do (float32 arithmetic, state
/// per parameter created at zero on first use). Optimizer state lives only for one pass's run.
public protocol Optimizer: Sendable {
    /// One step: every parameter in `gradients` that is also in `parameters` moves.
    mutating func step(_ parameters: inout [String: [Float]], gradients: [String: [Float]])
    /// A description for the records.
    var description: String { get }
}

/// Keras `SGD(learning_rate, momentum)`: v ← m·v − lr·g; w ← w + v (w ← w − lr·g when m = 0).
public struct SGD: Optimizer {
    public let learningRate: Float, momentum: Float
    private var velocity: [String: [Float]] = [:]

    public init(learningRate: Float, momentum: Float = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
    }

    public var description: String { "sgd(lr=\(learningRate), momentum=\(momentum))" }

    public mutating func step(_ parameters: inout [String: [Float]], gradients: [String: [Float]]) {
        let (lr, m) = (learningRate, momentum)
        for name in gradients.keys.sorted() where parameters[name] != nil {
            let g = gradients[name]!
            if m == 0 {
                parameters[name]!.withUnsafeMutableBufferPointer { w in for i in w.indices { w[i] -= lr * g[i] } }
                continue
            }
            var v = velocity[name] ?? [Float](repeating: 0, count: g.count)
            parameters[name]!.withUnsafeMutableBufferPointer { w in
                for i in w.indices {
                    v[i] = m * v[i] - lr * g[i]
                    w[i] += v[i]
                }
            }
            velocity[name] = v
        }
    }
}

/// Keras `Adam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`:
/// α = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ); m ← m + (g − m)(1 − β₁); v ← v + (g² − v)(1 − β₂); w ← w − α·m/(√v + ε).
public struct Adam: Optimizer {
    public let learningRate: Float, beta1: Float, beta2: Float, epsilon: Float
    private var iterations = 0
    private var m: [String: [Float]] = [:], v: [String: [Float]] = [:]

    public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public var description: String { "adam(lr=\(learningRate), beta_1=\(beta1), beta_2=\(beta2), epsilon=\(epsilon))" }

    public mutating func step(_ parameters: inout [String: [Float]], gradients: [String: [Float]]) {
        iterations += 1
        let t = Float(iterations)
        let alpha = learningRate * (1 - Foundation.pow(beta2, t)).squareRoot() / (1 - Foundation.pow(beta1, t))
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        for name in gradients.keys.sorted() where parameters[name] != nil {
            let g = gradients[name]!
            var first = m[name] ?? [Float](repeating: 0, count: g.count)
            var second = v[name] ?? [Float](repeating: 0, count: g.count)
            parameters[name]!.withUnsafeMutableBufferPointer { w in
                for i in w.indices {
                    first[i] += (g[i] - first[i]) * (1 - b1)
                    second[i] += (g[i] * g[i] - second[i]) * (1 - b2)
                    w[i] -= (first[i] * alpha) / (second[i].squareRoot() + eps)
                }
            }
            m[name] = first
            v[name] = second
        }
    }
}
