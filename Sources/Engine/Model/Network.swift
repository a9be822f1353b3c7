import Checkpoint

/// A model the engine can run: a chain of layers rebuilt from a checkpoint, its input shape and
/// its number of classes.
public struct Network: Sendable {
    public let path: String
    /// Input shape without the batch axis.
    public let inputShape: [Int]
    public let classes: Int
    let layers: [any Layer]
    /// Whether the last layer ends in a softmax (the loss then differentiates through it fused).
    public let endsInSoftmax: Bool
    /// Float values one sample's forward pass holds: every layer's output, and the im2col matrices
    /// of convolutions. Sets how many samples a batch takes.
    let valuesPerSample: Int

    init(path: String, inputShape: [Int], layers: [any Layer]) throws {
        self.path = path
        self.inputShape = inputShape
        self.layers = layers
        var shape = inputShape
        var values = inputShape.reduce(1, *)
        for layer in layers {
            let output = try layer.outputShape(for: shape, path: path)
            if let conv = layer as? Conv2D { values += conv.patchValues(for: shape) }
            shape = output
            values += shape.reduce(1, *)
        }
        classes = shape.last ?? 0
        valuesPerSample = values
        endsInSoftmax = switch layers.last {
        case let dense as Dense: dense.activation == .softmax
        case let conv as Conv2D: conv.activation == .softmax
        case let activation as ActivationLayer: activation.function == .softmax
        default: false
        }
    }

    /// Opens a checkpoint's model (legacy Keras `.h5` with `model_config`).
    public init(checkpoint: any CheckpointFile) throws {
        self = try KerasModelBuilder.build(checkpoint)
    }

    /// Every trainable tensor the engine computes gradients for, with its shape.
    public var parameters: [(name: String, shape: [Int])] { layers.flatMap(\.parameters) }

    /// Every tensor the model reads from the checkpoint (parameters and running statistics), by name.
    public var weights: [String: [Float]] {
        layers.reduce(into: [:]) { all, layer in all.merge(layer.weights) { first, _ in first } }
    }

    /// The names of `weights`, sorted.
    public var weightNames: [String] { weights.keys.sorted() }

    /// The same model with the named tensors replaced (model passes change parameters between
    /// steps). Every name must be one of `weights`, with the same number of values.
    public func replacing(_ values: [String: [Float]]) throws -> Network {
        let current = weights
        for (name, replacement) in values {
            guard let old = current[name] else { throw EngineError.unknownWeight(path: path, tensor: name) }
            guard old.count == replacement.count else {
                throw EngineError.weightShape(path: path, layer: "", tensor: name, expected: "\(old.count) values", actual: [replacement.count])
            }
        }
        return try Network(path: path, inputShape: inputShape, layers: layers.map { $0.replacing(values) })
    }

    /// Keras' clip of probabilities in sparse categorical cross-entropy.
    static let epsilon: Float = 1e-7

    /// One batch forward and, with `fisher`, backward through the cross-entropy loss −log p_y; with
    /// `activity`, each Dense and Conv2D layer's input and output summed per unit.
    func measure(_ input: Batch, labels: [Int], fisher: FisherMode?, activity: Bool) -> BatchMeasures {
        let activations = forwardAll(input)
        var result = BatchMeasures(outputs: activations.last!)
        if activity {
            for (index, layer) in layers.enumerated() where layer is Dense || layer is Conv2D {
                result.activity[layer.name] = LayerActivity(pre: activations[index], post: activations[index + 1])
            }
        }
        if let fisher {
            var sink = GradientSink(mode: fisher)
            let delta = TrainingLoss.crossEntropy.outputGradients(activations.last!.values, labels: labels, classes: classes).deltas
            backpropagate(activations, outputGradient: delta, into: &sink)
            result.gradients = sink
        }
        return result
    }

    /// Every layer's output for `input`: the input first, the model's output last.
    func forwardAll(_ input: Batch) -> [Batch] {
        var activations = [input]
        for layer in layers { activations.append(layer.forward(activations.last!)) }
        return activations
    }

    /// Backpropagates dL/dz (z: the final softmax's input, one row per sample) through the layers,
    /// reporting every parameter's gradients to `sink`.
    func backpropagate(_ activations: [Batch], outputGradient: [Float], into sink: inout GradientSink) {
        let probabilities = activations.last!
        var gradient: Batch? = Batch(values: outputGradient, shape: probabilities.shape)
        // Below the first layer with parameters no gradient is needed.
        let first = layers.firstIndex { !$0.parameters.isEmpty } ?? layers.count
        for index in (first..<layers.count).reversed() {
            guard let above = gradient else { break }
            gradient = layers[index].backward(input: activations[index], output: activations[index + 1], gradient: above,
                                              fusedSoftmax: index == layers.count - 1, inputGradient: index > first, into: &sink)
        }
    }
}

/// What one batch through the network yields.
struct BatchMeasures: Sendable {
    var outputs: Batch
    var gradients: GradientSink?
    var activity: [String: LayerActivity] = [:]
}
