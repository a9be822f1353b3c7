/// What a tensor is for, as far as forgetting is concerned.
public enum TensorRole: String, Sendable, Codable {
    case kernel, bias, gamma, beta
    case movingMean = "moving_mean", movingVariance = "moving_variance"
    case embedding, threshold, optimizer, other
}

/// Which file convention a layout was read from; it fixes names and weight orientation.
public enum LayoutKind: String, Sendable, Codable {
    /// Keras 2 / tf.keras / Keras 3 full-model or weights-only `.h5` (`layer_names`, `weight_names`).
    case kerasLegacy = "keras-h5"
    /// Keras 3 `model.save_weights` (`layers/<name>/vars/<i>`).
    case keras3Weights = "keras3-weights"
    /// A PyTorch-style state dict (`<layer>.weight`, `<layer>.bias`) or any HDF5 file.
    case stateDict = "state-dict"
}

/// One tensor's place in the model.
public struct TensorLayout: Sendable {
    public let info: TensorInfo
    /// The layer it belongs to ("" for tensors outside any layer).
    public let layer: String
    public let role: TensorRole
    /// The axis indexed by the layer's output units (classes, for the output layer): the last axis
    /// of a Keras kernel, axis 0 of a PyTorch weight, axis 0 of a bias; nil where there is none.
    public let classAxis: Int?

    public init(info: TensorInfo, layer: String, role: TensorRole, classAxis: Int?) {
        self.info = info
        self.layer = layer
        self.role = role
        self.classAxis = classAxis
    }
}

/// One layer: its name, class (when the file records it) and tensors.
public struct Layer: Sendable {
    public let name: String
    public let className: String?
    public var tensors: [TensorLayout]

    /// The layer's weight matrix or convolution kernel, if it has one.
    public var kernel: TensorLayout? { tensors.first { $0.role == .kernel && $0.info.shape.count >= 2 } }
    /// Output units: the kernel's extent along its class axis.
    public var outputUnits: Int? { kernel.flatMap { k in k.classAxis.map { k.info.shape[$0] } } }
    /// The tensors indexed by output unit: the kernel and a bias whose length matches it.
    public var unitTensors: [TensorLayout] {
        guard let kernel, let units = outputUnits else { return [] }
        return [kernel] + tensors.filter { $0.role == .bias && $0.info.shape == [units] }
    }
}

/// Why the output layer could not be determined.
public enum LayoutError: Error, Equatable, CustomStringConvertible {
    case noOutputLayer(path: String)
    case ambiguousOutputLayer(path: String, candidates: [String])
    case unknownLayer(path: String, name: String, candidates: [String])

    public var description: String {
        switch self {
        case .noOutputLayer(let path):
            "\(path): no layer with a weight matrix or kernel, so there is no output layer to forget a class in"
        case .ambiguousOutputLayer(let path, let candidates):
            "\(path): cannot tell which layer is the output layer; candidates: \(candidates.joined(separator: ", ")); choose one with --output-layer NAME"
        case .unknownLayer(let path, let name, let candidates):
            "\(path): no layer named '\(name)'; layers with a kernel: \(candidates.joined(separator: ", "))"
        }
    }
}

/// The model structure of a checkpoint: every tensor's layer, role and class axis, the layers in
/// model order, and the groups that hold optimizer state.
public struct Layout: Sendable {
    public let path: String
    public let kind: LayoutKind
    public let layers: [Layer]
    public let tensors: [String: TensorLayout]
    /// HDF5 groups holding optimizer state (moments computed from the data, forget data included).
    public let optimizerGroups: [String]
    /// The output layers named by the file's own model description (Keras Functional models).
    let declaredOutputLayers: [String]

    public init(of checkpoint: any CheckpointFile) {
        let reading = LayoutReader(checkpoint: checkpoint)
        path = checkpoint.path
        kind = reading.kind
        layers = reading.layers
        tensors = Dictionary((reading.layers.flatMap(\.tensors) + reading.loose).map { ($0.info.name, $0) }, uniquingKeysWith: { first, _ in first })
        optimizerGroups = reading.optimizerGroups
        declaredOutputLayers = reading.declaredOutputLayers
    }

    /// The layer whose output units are the classes: `name` if given; else the one the model
    /// description declares (several declared outputs are ambiguous); else the last layer with a
    /// kernel in model order, unless another layer has fewer output units (two heads, or a
    /// classifier not stored last): then ambiguous.
    public func outputLayer(named name: String? = nil) throws(LayoutError) -> Layer {
        let candidates = layers.filter { $0.kernel != nil }
        let described = candidates.map { "\($0.name) (\($0.outputUnits ?? 0) units)" }
        if let name {
            guard let layer = candidates.first(where: { $0.name == name }) else {
                throw .unknownLayer(path: path, name: name, candidates: described)
            }
            return layer
        }
        let declared = candidates.filter { declaredOutputLayers.contains($0.name) }
        if declared.count > 1 {
            throw .ambiguousOutputLayer(path: path, candidates: declared.map { "\($0.name) (\($0.outputUnits ?? 0) units)" })
        }
        if let layer = declared.first { return layer }
        guard let last = candidates.last else { throw .noOutputLayer(path: path) }
        if kind == .kerasLegacy { return last }
        if candidates.contains(where: { ($0.outputUnits ?? .max) < (last.outputUnits ?? .max) }) {
            throw .ambiguousOutputLayer(path: path, candidates: described)
        }
        return last
    }
}
