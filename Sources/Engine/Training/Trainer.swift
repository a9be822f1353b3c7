import Foundation

/// A model being trained: the network, the parameters that move (the rest stay frozen, whole
/// tensors or single elements), and the optimizer that moves them.
public struct Trainer {
    public private(set) var network: Network
    /// The parameters being trained, by name.
    public private(set) var parameters: [String: [Float]]
    public private(set) var optimizer: any Optimizer
    public private(set) var steps = 0
    /// Per trained tensor, which elements may move (true) and the values the others keep.
    private let masks: [String: (movable: [Bool], frozen: [Float])]

    /// Trains the parameters named in `training` (each must be one of the network's parameters);
    /// within a tensor that has a mask in `masks`, only the elements marked true move.
    public init(network: Network, training names: [String], optimizer: any Optimizer, masks: [String: [Bool]] = [:]) throws {
        let weights = network.weights
        let trainable = Set(network.parameters.map(\.name))
        var parameters: [String: [Float]] = [:]
        var frozen: [String: (movable: [Bool], frozen: [Float])] = [:]
        for name in names {
            guard trainable.contains(name), let values = weights[name] else { throw EngineError.unknownWeight(path: network.path, tensor: name) }
            parameters[name] = values
            if let mask = masks[name] {
                guard mask.count == values.count else {
                    throw EngineError.weightShape(path: network.path, layer: "", tensor: name, expected: "a mask of \(values.count) values", actual: [mask.count])
                }
                frozen[name] = (mask, values)
            }
        }
        self.network = network
        self.parameters = parameters
        self.optimizer = optimizer
        self.masks = frozen
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
        // The optimizers work element by element, so putting frozen elements back is freezing them.
        for (name, mask) in masks {
            parameters[name]!.withUnsafeMutableBufferPointer { w in
                for i in w.indices where !mask.movable[i] { w[i] = mask.frozen[i] }
            }
        }
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
