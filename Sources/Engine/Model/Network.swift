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

    /// Keras' clip of probabilities in sparse categorical cross-entropy.
    static let epsilon: Float = 1e-7

    /// One batch forward and, with `fisher`, backward through the cross-entropy loss −log p_y; with
    /// `activity`, each Dense and Conv2D layer's input and output summed per unit.
    func measure(_ input: Batch, labels: [Int], fisher: FisherMode?, activity: Bool) -> BatchMeasures {
        var activations = [input]
        for layer in layers { activations.append(layer.forward(activations.last!)) }
        var result = BatchMeasures(outputs: activations.last!)
        if activity {
            for (index, layer) in layers.enumerated() where layer is Dense || layer is Conv2D {
                result.activity[layer.name] = LayerActivity(pre: activations[index], post: activations[index + 1])
            }
        }
        if let fisher { result.gradients = gradients(activations, labels: labels, mode: fisher) }
        return result
    }

    /// Per-sample gradients of the loss, reported to a sink, from the batch's activations.
    private func gradients(_ activations: [Batch], labels: [Int], mode: FisherMode) -> GradientSink {
        let probabilities = activations.last!
        // dL/dz for softmax + cross-entropy: p − onehot(y); zero where Keras' clip of p_y bites.
        var delta = probabilities.values
        for (s, label) in labels.enumerated() {
            let row = s * classes
            let p = probabilities.values[row + label]
            if p < Self.epsilon || p > 1 - Self.epsilon {
                for j in 0..<classes { delta[row + j] = 0 }
            } else {
                delta[row + label] -= 1
            }
        }
        var sink = GradientSink(mode: mode)
        var gradient: Batch? = Batch(values: delta, shape: probabilities.shape)
        // Below the first layer with parameters no gradient is needed.
        let first = layers.firstIndex { !$0.parameters.isEmpty } ?? layers.count
        for index in (first..<layers.count).reversed() {
            guard let above = gradient else { break }
            gradient = layers[index].backward(input: activations[index], output: activations[index + 1], gradient: above,
                                              fusedSoftmax: index == layers.count - 1, inputGradient: index > first, into: &sink)
        }
        return sink
    }
}

/// What one batch through the network yields.
struct BatchMeasures: Sendable {
    var outputs: Batch
    var gradients: GradientSink?
    var activity: [String: LayerActivity] = [:]
}
