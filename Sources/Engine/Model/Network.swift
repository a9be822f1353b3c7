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
        // Sizes come from the file's model_config: every product and sum is checked, so a shape too
        // large to hold is refused before any layer multiplies its sizes unchecked.
        func tooLarge(_ layer: String, _ shape: [Int]) -> EngineError {
            .unsupportedOption(path: path, layer: layer, option: "an output of shape \(shape), too large to hold in memory,")
        }
        func adding(_ factors: [Int], to total: Int) -> Int? {
            var product = 1
            for factor in factors {
                let (next, overflow) = product.multipliedReportingOverflow(by: factor)
                guard !overflow else { return nil }
                product = next
            }
            let (sum, overflow) = total.addingReportingOverflow(product)
            return overflow ? nil : sum
        }
        var shape = inputShape
        guard var values = adding(inputShape, to: 0) else { throw tooLarge(layers.first?.name ?? "input", inputShape) }
        for layer in layers {
            let output = try layer.outputShape(for: shape, path: path)
            if let conv = layer as? Conv2D {
                guard let sum = adding(conv.patchFactors(for: shape), to: values) else { throw tooLarge(layer.name, output) }
                values = sum
            }
            guard let sum = adding(output, to: values) else { throw tooLarge(layer.name, output) }
            (shape, values) = (output, sum)
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

    /// Opens a checkpoint's model (a legacy Keras `.h5` with `model_config`, or a `.keras` archive).
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
    func measure(_ input: Batch, labels: [Int], fisher: FisherMode?, activity: Bool, logits: Bool = false) -> BatchMeasures {
        let activations = forwardAll(input)
        var result = BatchMeasures(outputs: activations.last!)
        if logits { result.logits = LogitRange(self.logits(activations), classes: classes) }
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

    /// The logits of a batch whose activations are `activations`: the input of the model's final
    /// softmax or sigmoid (a last Activation layer's input, or a last Dense or Conv2D layer's output
    /// before its activation), else the model's output itself.
    func logits(_ activations: [Batch]) -> Batch {
        let before = activations[activations.count - 2]
        switch layers.last {
        case let layer as ActivationLayer where layer.function == .softmax || layer.function == .sigmoid:
            return before
        case let dense as Dense where dense.activation == .softmax || dense.activation == .sigmoid:
            return Dense(name: dense.name, kernel: dense.kernel, bias: dense.bias, inputs: dense.inputs, units: dense.units, activation: .linear,
                         kernelName: dense.kernelName, biasName: dense.biasName).forward(before)
        case let conv as Conv2D where conv.activation == .softmax || conv.activation == .sigmoid:
            return Conv2D(name: conv.name, kernel: conv.kernel, bias: conv.bias, kernelHeight: conv.kernelHeight, kernelWidth: conv.kernelWidth,
                          channels: conv.channels, filters: conv.filters, strides: conv.strides, samePadding: conv.samePadding,
                          activation: .linear, kernelName: conv.kernelName, biasName: conv.biasName).forward(before)
        default:
            return activations.last!
        }
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
    var logits: LogitRange?
}

/// The lowest and highest logit of each class over a set of samples.
public struct LogitRange: Sendable, Equatable {
    public private(set) var minimum: [Double], maximum: [Double]

    /// Over the rows of `logits` (the last axis has `classes` values).
    init(_ logits: Batch, classes: Int) {
        minimum = [Double](repeating: .infinity, count: classes)
        maximum = [Double](repeating: -.infinity, count: classes)
        for row in stride(from: 0, to: logits.values.count, by: classes) {
            for c in 0..<classes {
                let value = Double(logits.values[row + c])
                if value < minimum[c] || value.isNaN { minimum[c] = value }
                if value > maximum[c] || value.isNaN { maximum[c] = value }
            }
        }
    }

    /// The range over both sets of samples.
    mutating func add(_ other: LogitRange) {
        for c in minimum.indices {
            minimum[c] = minimum[c].isNaN || other.minimum[c].isNaN ? .nan : Swift.min(minimum[c], other.minimum[c])
            maximum[c] = maximum[c].isNaN || other.maximum[c].isNaN ? .nan : Swift.max(maximum[c], other.maximum[c])
        }
    }
}
