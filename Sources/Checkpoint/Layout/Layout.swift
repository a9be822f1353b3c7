/// What a tensor is for, as far as forgetting is concerned.
public enum TensorRole: String, Sendable, Codable {
    /// A weight matrix, convolution kernel or pointwise kernel: its class axis indexes output units.
    case kernel
    /// A recurrent layer's hidden-to-hidden weights (LSTM, GRU, SimpleRNN): not a head.
    case recurrentKernel = "recurrent_kernel"
    /// A depthwise convolution's kernel, whose last axis is the depth multiplier, not units.
    case depthwiseKernel = "depthwise_kernel"
    case bias, gamma, beta
    case movingMean = "moving_mean", movingVariance = "moving_variance"
    /// An input embedding table (vocabulary × features): not an output layer.
    case embedding
    /// A spiking neuron's firing threshold (NIR `v_threshold`, snnTorch `threshold`).
    case threshold
    /// A spiking neuron's time constant (`tau`, `tau_mem`, `tau_syn`), resistance (`r`), leak and reset potentials.
    case tau, resistance = "r", leak = "v_leak", reset = "v_reset"
    case optimizer, other
}

/// Which file convention a layout was read from; it fixes names and weight orientation.
public enum LayoutKind: String, Sendable, Codable {
    /// Keras 2 / tf.keras / Keras 3 full-model or weights-only `.h5` (`layer_names`, `weight_names`).
    case kerasLegacy = "keras-h5"
    /// Keras 3 `model.save_weights` (`layers/<name>/vars/<i>`).
    case keras3Weights = "keras3-weights"
    /// A PyTorch-style state dict (`<layer>.weight`, `<layer>.bias`) or any HDF5 file.
    case stateDict = "state-dict"
    /// A NIR graph (`nir.write`): one layer per node, tensors named by node and parameter.
    case nir
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
    /// Whether it can be a classifier head: it has a kernel and is not recurrent.
    public var isHeadCandidate: Bool { kernel != nil && !tensors.contains { $0.role == .recurrentKernel } }
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
    case notAHead(path: String, name: String, reason: String, candidates: [String])
    case damagedLayer(path: String, layer: String, problems: [String])
    /// Optimizer state in a file whose writer cannot leave it out (a `.pt`'s pickle is copied as it is).
    case optimizerStateKept(path: String, groups: [String])

    public var description: String {
        switch self {
        case .noOutputLayer(let path):
            "\(path): no layer with a weight matrix or kernel (embeddings, recurrent and depthwise kernels are not heads), so there is no output layer to forget a class in"
        case .ambiguousOutputLayer(let path, let candidates):
            "\(path): cannot tell which layer is the output layer (the file does not say); candidates: \(candidates.joined(separator: ", ")); choose one with --output-layer NAME"
        case .unknownLayer(let path, let name, let candidates):
            "\(path): no layer named '\(name)'; layers with a kernel: \(candidates.joined(separator: ", "))"
        case .notAHead(let path, let name, let reason, let candidates):
            "\(path): layer '\(name)' \(reason), so its units are not classes; layers with a kernel: \(candidates.joined(separator: ", "))"
        case .damagedLayer(let path, let layer, let problems):
            "\(path): layer '\(layer)' is damaged: \(problems.joined(separator: "; ")); nothing of it is edited"
        case .optimizerStateKept(let path, let groups):
            "\(path): holds optimizer state (\(groups.joined(separator: ", "))): moments computed from the training data, the data being forgotten included, which a .pt rewrite cannot leave out (its pickle is copied as it is); give --keep-optimizer-state to copy it unchanged (the records say so), or save the model's weights alone first, in a sandbox: torch.save(checkpoint[\"model\"], \"model.pt\")"
        }
    }
}

/// The model structure of a checkpoint: every tensor's layer, role and class axis, the layers in
/// model order, the groups that hold optimizer state, and what the file says of its classes.
public struct Layout: Sendable {
    public let path: String
    public let kind: LayoutKind
    public let layers: [Layer]
    public let tensors: [String: TensorLayout]
    /// HDF5 groups holding optimizer state (moments computed from the data, forget data included).
    public let optimizerGroups: [String]
    /// The class names, by index, where the file gives them (a Hugging Face `config.json` `id2label`).
    public let classLabels: [String]?
    /// Layers whose stored weights disagree with what describes them (a Keras `.h5`'s weight_names
    /// and model_config), with what disagrees: never edited, never taken as the output layer.
    public let damage: [String: [String]]
    /// The model's graph where the file describes one (a Keras config, a NIR graph): each layer's
    /// inputs and the declared outputs, to trace the head back from an output.
    let graph: (inbound: [String: [String]], outputs: [String])?
    /// The layers in the Keras model config's order, where the file has a config.
    let configOrder: [String]?
    /// A layer's name in the model config where it differs from the layer's name here (Keras 3).
    let configNames: [String: String]
    let declaredClassCount: Int?

    /// Names that classification heads are given: torchvision's `fc`, Hugging Face's `classifier`,
    /// `lm_head` and `score`, timm's `head`.
    public static let headNames: Set<String> = ["classifier", "lm_head", "head", "fc", "score"]

    public init(of checkpoint: any CheckpointFile) {
        let reading = LayoutReader(checkpoint: checkpoint)
        path = checkpoint.path
        kind = reading.kind
        layers = reading.layers
        tensors = Dictionary((reading.layers.flatMap(\.tensors) + reading.loose).map { ($0.info.name, $0) }, uniquingKeysWith: { first, _ in first })
        optimizerGroups = reading.optimizerGroups
        damage = reading.damage
        configNames = reading.configNames
        configOrder = reading.modelConfig?.layerOrder
        if let config = reading.modelConfig {
            graph = (config.inbound, config.outputLayers)
        } else if let nir = checkpoint.metadata.nirGraph {
            graph = (nir.inbound, nir.nodes.filter { $0.type == "Output" }.map(\.name))
        } else {
            graph = nil
        }
        classLabels = checkpoint.metadata.classLabels
        declaredClassCount = checkpoint.metadata.classLabels?.count
    }

    /// The layer whose output units are the classes. `name` if given (it must have a kernel and not
    /// be recurrent). Otherwise, from what the file says, in this order: the layer a Keras model's
    /// declared output or a NIR graph's Output node comes from (traced back through layers without a
    /// kernel, such as activations, poolings and spiking neurons); in a Keras `.h5` (or a `.keras`
    /// archive's config) without one, the last layer with a kernel in the model's order; the one layer with as many
    /// units as a Hugging Face `config.json` has labels; the one layer named as heads are
    /// (`headNames`). Else the last layer with a kernel in name order, if no other has fewer units;
    /// anything less certain is ambiguous (the candidates are listed).
    public func outputLayer(named name: String? = nil) throws(LayoutError) -> Layer {
        let candidates = layers.filter(\.isHeadCandidate)
        let described = candidates.map(Self.describe)
        if let name {
            guard let layer = layers.first(where: { $0.name == name }) ?? self.layer(configName: name) else {
                throw .unknownLayer(path: path, name: name, candidates: described)
            }
            if let problems = damage[name] { throw .damagedLayer(path: path, layer: name, problems: problems) }
            guard layer.isHeadCandidate else {
                let reason = layer.kernel == nil
                    ? (layer.tensors.contains { $0.role == .embedding } ? "is an embedding" : "has no kernel")
                    : "is recurrent"
                throw .notAHead(path: path, name: name, reason: reason, candidates: described)
            }
            return layer
        }
        guard !candidates.isEmpty else { throw .noOutputLayer(path: path) }
        if let graph {
            let byName = Dictionary(layers.map { (configNames[$0.name] ?? $0.name, $0) }, uniquingKeysWith: { first, _ in first })
            var heads: [Layer] = []
            for output in graph.outputs {
                // A damaged layer is not passed through (its kernel may be what is missing): it stops the trace.
                guard let head = Self.head(of: output, inbound: graph.inbound, passesThrough: { byName[$0].map { $0.kernel == nil && damage[$0.name] == nil } ?? true })
                    .flatMap({ byName[$0] }) else { continue }
                if let problems = damage[head.name] { throw .damagedLayer(path: path, layer: head.name, problems: problems) }
                guard head.isHeadCandidate, !heads.contains(where: { $0.name == head.name }) else { continue }
                heads.append(head)
            }
            if heads.count > 1 { throw .ambiguousOutputLayer(path: path, candidates: heads.map(Self.describe)) }
            if let head = heads.first { return head }
        }
        if kind == .kerasLegacy {
            // The model's order: a damaged layer after the last good one may be the real head.
            if let damaged = layers.last(where: { damage[$0.name] != nil }),
               layers.firstIndex(where: { $0.name == damaged.name })! > layers.firstIndex(where: { $0.name == candidates.last!.name })! {
                throw .damagedLayer(path: path, layer: damaged.name, problems: damage[damaged.name]!)
            }
            return candidates.last!
        }
        if let order = configOrder, kind == .keras3Weights {
            let position = Dictionary(order.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            if let last = candidates.filter({ position[configNames[$0.name] ?? $0.name] != nil })
                .max(by: { position[configNames[$0.name] ?? $0.name]! < position[configNames[$1.name] ?? $1.name]! }) {
                return last
            }
        }
        if let count = declaredClassCount {
            let matching = candidates.filter { $0.outputUnits == count }
            if matching.count == 1 { return matching[0] }
            let named = matching.filter(isNamedAsHead)
            if named.count == 1 { return named[0] }
        }
        let named = candidates.filter(isNamedAsHead)
        if named.count == 1 { return named[0] }
        let last = candidates.last!
        if candidates.contains(where: { ($0.outputUnits ?? .max) < (last.outputUnits ?? .max) }) {
            throw .ambiguousOutputLayer(path: path, candidates: described)
        }
        return last
    }

    /// The layer a declared output's classes come from: from the output, back through layers for
    /// which `passesThrough` holds (no kernel of their own) while each has one input; nil where that
    /// leads to a merge or nowhere.
    static func head(of output: String, inbound: [String: [String]], passesThrough: (String) -> Bool) -> String? {
        var current = output
        var seen: Set<String> = []
        while passesThrough(current), seen.insert(current).inserted {
            guard let inputs = inbound[current], inputs.count == 1 else { return nil }
            current = inputs[0]
        }
        return passesThrough(current) ? nil : current
    }

    /// The layer the model config calls `name` (in a Keras 3 file, the group whose `vars` carry that
    /// name; elsewhere, the layer of that name).
    public func layer(configName name: String) -> Layer? {
        layers.first { (configNames[$0.name] ?? $0.name) == name }
    }

    private func isNamedAsHead(_ layer: Layer) -> Bool {
        Self.headNames.contains(String(layer.name.split(whereSeparator: { $0 == "." || $0 == "/" }).last ?? ""))
    }

    private static func describe(_ layer: Layer) -> String {
        "\(layer.name) (\(English.count(layer.outputUnits ?? 0, "unit")))"
    }

    /// The class index of `label` in the file's class names, if it has them.
    public func classIndex(_ label: String) -> Int? { classLabels?.firstIndex(of: label) }
}
