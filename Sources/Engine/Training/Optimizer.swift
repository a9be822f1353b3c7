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

/// A model being trained: the network, the parameters that move (the rest stay frozen), and the
/// optimizer that moves them.
public struct Trainer {
    public private(set) var network: Network
    /// The parameters being trained, by name.
    public private(set) var parameters: [String: [Float]]
    public private(set) var optimizer: any Optimizer
    public private(set) var steps = 0

    /// Trains the parameters named in `training` (each must be one of the network's parameters).
    public init(network: Network, training names: [String], optimizer: any Optimizer) throws {
        let weights = network.weights
        let trainable = Set(network.parameters.map(\.name))
        var parameters: [String: [Float]] = [:]
        for name in names {
            guard trainable.contains(name), let values = weights[name] else { throw EngineError.unknownWeight(path: network.path, tensor: name) }
            parameters[name] = values
        }
        self.network = network
        self.parameters = parameters
        self.optimizer = optimizer
    }

    /// One optimizer step on the gradient of the batch-mean `loss`; returns the batch loss before it.
    @discardableResult
    public mutating func step(_ loss: TrainingLoss, batch: Batch, labels: [Int]) throws -> Double {
        try step([TrainingTerm(loss: loss, batch: batch, labels: labels)])
    }

    /// One optimizer step on the weighted sum of several terms' gradients (e.g. ascent on a forget
    /// batch plus descent on a retain batch); returns the weighted sum of their batch losses before it.
    @discardableResult
    public mutating func step(_ terms: [TrainingTerm]) throws -> Double {
        var total: [String: [Float]] = [:]
        var loss = 0.0
        for term in terms {
            let gradient = try network.gradient(of: term.loss, batch: term.batch, labels: term.labels)
            loss += term.weight * gradient.loss
            for (name, g) in gradient.gradients where parameters[name] != nil {
                let weight = Float(term.weight)
                if var sum = total[name] {
                    for i in sum.indices { sum[i] += weight * g[i] }
                    total[name] = sum
                } else {
                    total[name] = weight == 1 ? g : g.map { weight * $0 }
                }
            }
        }
        optimizer.step(&parameters, gradients: total)
        network = try network.replacing(parameters)
        steps += 1
        return loss
    }
}

/// One term of a training objective: a loss on a batch, with its weight in the sum.
public struct TrainingTerm: Sendable {
    public let loss: TrainingLoss
    public let batch: Batch
    public let labels: [Int]
    public let weight: Double

    public init(loss: TrainingLoss, batch: Batch, labels: [Int], weight: Double = 1) {
        self.loss = loss
        self.batch = batch
        self.labels = labels
        self.weight = weight
    }
}
