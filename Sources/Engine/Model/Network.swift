import Checkpoint

/// A model the engine can run: a graph of layers rebuilt from a checkpoint (a chain for Sequential
/// models), its input shape and its number of classes.
public struct Network: Sendable {
    public let path: String
    /// Input shape without the batch axis.
    public let inputShape: [Int]
    public let classes: Int
    /// The graph's steps, each after those it takes values from; the model's output is the last's.
    let nodes: [Node]
    /// The distinct layers in order of first use (a layer used by several nodes is there once).
    let layers: [any Layer]
    /// Whether the last layer ends in a softmax (the loss then differentiates through it fused).
    public let endsInSoftmax: Bool
    /// Float values one sample's forward pass holds: every node's output, and the im2col matrices
    /// of convolutions. Sets how many samples a batch takes.
    let valuesPerSample: Int
    /// Per value (0 the input, i + 1 node i's output): whether a layer with parameters made it or
    /// one of the values it was made from, so that backpropagation needs dL/d(value).
    let needsGradient: [Bool]
    /// Whether some layer is used by more than one node: its gradients then add up over its uses
    /// before a per-sample gradient is squared.
    let sharesLayers: Bool

    /// A chain: each layer takes the previous one's output.
    init(path: String, inputShape: [Int], layers: [any Layer]) throws {
        try self.init(path: path, inputShape: inputShape, nodes: layers.enumerated().map { Node(.layer($1), inputs: [$0]) })
    }

    init(path: String, inputShape: [Int], nodes: [Node]) throws {
        self.path = path
        self.inputShape = inputShape
        self.nodes = nodes
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
        var shapes = [inputShape]
        guard var values = adding(inputShape, to: 0) else { throw tooLarge(nodes.first?.name ?? "input", inputShape) }
        var needs = [false]
        var seen: [String: Int] = [:], distinct: [any Layer] = []
        for (index, node) in nodes.enumerated() {
            guard !node.inputs.isEmpty, node.inputs.allSatisfy({ (0...index).contains($0) }) else {
                throw EngineError.unsupportedGraph(path: path, problem: "has a step '\(node.name)' that takes a value not made before it")
            }
            let inputs = node.inputs.map { shapes[$0] }
            let output = try node.outputShape(for: inputs, path: path)
            switch node.operation {
            case .layer(let layer):
                if let factors = layer.scratchFactors(for: inputs[0]) {
                    guard let sum = adding(factors, to: values) else { throw tooLarge(layer.name, output) }
                    values = sum
                }
                seen[layer.name, default: 0] += 1
                if seen[layer.name] == 1 { distinct.append(layer) }
                needs.append(!layer.parameters.isEmpty || needs[node.inputs[0]])
            case .merge:
                needs.append(node.inputs.contains { needs[$0] })
            }
            guard let sum = adding(output, to: values) else { throw tooLarge(node.name, output) }
            values = sum
            shapes.append(output)
        }
        guard let output = shapes.last, output.count == 1 else {
            throw EngineError.unsupportedGraph(path: path, problem: "ends in an output of shape \(shapes.last ?? []) per sample, not one value per class")
        }
        classes = output[0]
        valuesPerSample = values
        layers = distinct
        needsGradient = needs
        sharesLayers = seen.values.contains { $0 > 1 }
        endsInSoftmax = if case .layer(let layer) = nodes.last?.operation { layer.finalActivation == .softmax } else { false }
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
        return try Network(path: path, inputShape: inputShape, nodes: nodes.map { $0.replacing(values) })
    }

    /// Keras' clip of probabilities in sparse categorical cross-entropy.
    static let epsilon: Float = 1e-7

    /// One batch forward and, with `fisher`, backward through the cross-entropy loss −log p_y; with
    /// `activity`, each Dense and Conv2D layer's input and output summed per unit (a layer used
    /// more than once: its first use).
    func measure(_ input: Batch, labels: [Int], fisher: FisherMode?, activity: Bool, logits: Bool = false) -> BatchMeasures {
        // A whole-batch backward reuses what the forward kept (a recurrent layer's steps); the
        // per-sample one below backpropagates single samples, for which nothing was kept.
        let perSample = fisher == .exact && sharesLayers
        let (activations, kept) = forwardAll(input, keeping: fisher != nil && !perSample)
        var result = BatchMeasures(outputs: activations.last!)
        if logits { result.logits = LogitRange(self.logits(activations), classes: classes) }
        if activity {
            for (index, node) in nodes.enumerated() {
                guard case .layer(let layer) = node.operation, layer is Dense || layer is Conv2D, result.activity[layer.name] == nil else { continue }
                result.activity[layer.name] = LayerActivity(pre: activations[node.inputs[0]], post: activations[index + 1])
            }
        }
        if let fisher {
            var sink = GradientSink(mode: fisher)
            let delta = TrainingLoss.crossEntropy.outputGradients(activations.last!.values, labels: labels, classes: classes).deltas
            if perSample {
                // A sample's gradient is complete only once every use of a shared layer has added to
                // it: each sample is backpropagated alone, and its gradient squared.
                for sample in 0..<input.samples {
                    var single = GradientSink(mode: .batch(1))
                    backpropagate(activations.map { $0.sample(sample) }, outputGradient: Array(delta[(sample * classes)..<((sample + 1) * classes)]),
                                  into: &single)
                    sink.addSquares(of: single)
                }
            } else {
                backpropagate(activations, kept: kept, outputGradient: delta, into: &sink)
            }
            result.gradients = sink
        }
        return result
    }

    /// The logits of a batch whose activations are `activations`: the input of the model's final
    /// softmax or sigmoid (a last Activation layer's input, or a last layer's output before its
    /// activation), else the model's output itself.
    func logits(_ activations: [Batch]) -> Batch {
        guard let node = nodes.last, case .layer(let layer) = node.operation,
              layer.finalActivation == .softmax || layer.finalActivation == .sigmoid else { return activations.last! }
        return layer.linearized().forward(activations[node.inputs[0]])
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
