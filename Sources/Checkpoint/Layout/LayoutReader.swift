import Foundation

/// Reads a checkpoint's model structure from its names and metadata (see `Layout`).
struct LayoutReader {
    private(set) var kind = LayoutKind.stateDict
    private(set) var layers: [Layer] = []
    /// Tensors that belong to no layer (optimizer state, counters).
    private(set) var loose: [TensorLayout] = []
    private(set) var optimizerGroups: [String] = []
    /// The Keras model description, where the file has one.
    private(set) var modelConfig: KerasModelConfig?
    /// What is wrong with a layer whose stored weights disagree with what describes them.
    private(set) var damage: [String: [String]] = [:]
    /// Each layer's name in the model config, by layer name here, where they differ (Keras 3
    /// groups are named after the layer's class; its own name is the group's `vars` `name`).
    private(set) var configNames: [String: String] = [:]

    init(checkpoint: any CheckpointFile) {
        let tensors = checkpoint.tensors
        // Optimizer state is Keras' own: `optimizer_weights/` beside `model_weights/` (legacy .h5),
        // `optimizer/` beside `layers/` (Keras 3). Other files' groups of those names are left alone,
        // but for the groups a file names itself (a torch training checkpoint's optimizer dict).
        let isKeras3 = tensors.contains { $0.name.hasPrefix("layers/") && $0.name.contains("/vars/") }
        let separator = String(checkpoint.format.nameSeparator)
        var candidates = checkpoint.metadata.optimizerGroups
        if checkpoint.format.mayHoldKerasOptimizerState {
            candidates += checkpoint.metadata.layerNames != nil ? ["optimizer_weights"] : isKeras3 ? ["optimizer"] : []
        }
        optimizerGroups = candidates.filter { group in tensors.contains { $0.name.hasPrefix(group + separator) } }
        let (optimizer, model) = tensors.partitioned { info in optimizerGroups.contains { info.name.hasPrefix($0 + separator) } }
        loose = optimizer.map { TensorLayout(info: $0, layer: "", role: .optimizer, classAxis: nil) }

        if let graph = checkpoint.metadata.nirGraph {
            kind = .nir
            readNIR(model, graph: graph)
        } else if let layerNames = checkpoint.metadata.layerNames {
            kind = .kerasLegacy
            readKerasLegacy(model, metadata: checkpoint.metadata, layerNames: layerNames)
        } else if isKeras3 {
            kind = .keras3Weights
            readKeras3(model, metadata: checkpoint.metadata)
        } else {
            kind = .stateDict
            readStateDict(model, separator: checkpoint.format.nameSeparator)
        }
    }

    /// Keras `.h5`: layers in `layer_names` order, tensors from each layer's `weight_names`.
    private mutating func readKerasLegacy(_ tensors: [TensorInfo], metadata: CheckpointMetadata, layerNames: [String]) {
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let classes = KerasModelConfig(json: metadata.modelConfig)
        modelConfig = classes
        var claimed = Set<String>()
        for layer in layerNames where !layers.contains(where: { $0.name == layer }) {
            let prefix = metadata.layerGroup.isEmpty ? layer : "\(metadata.layerGroup)/\(layer)"
            var problems: [String] = []
            let entries: [TensorLayout] = (metadata.weightNames[layer] ?? []).compactMap { weight in
                guard let info = byName["\(prefix)/\(weight)"] else {
                    problems.append("weight_names lists '\(weight)', which is not a numeric dataset in the file")
                    return nil
                }
                guard claimed.insert(info.name).inserted else { return nil }
                return Self.kerasTensor(info, layer: layer, role: Self.role(fromName: weight))
            }
            let listed = Set(entries.map(\.info.name))
            for unlisted in tensors where unlisted.name.hasPrefix(prefix + "/") && !listed.contains(unlisted.name) && !claimed.contains(unlisted.name) {
                problems.append("'\(unlisted.name)' is in the layer's group but not in its weight_names")
            }
            let built = Layer(name: layer, className: classes?.classOfLayer[layer], tensors: entries)
            problems += Self.disagreements(built, declaredUnits: classes?.unitsOfLayer[layer], cudnn: classes?.cudnnLayers.contains(layer) ?? false)
            if !problems.isEmpty { damage[layer] = problems }
            layers.append(built)
        }
        loose += tensors.filter { !claimed.contains($0.name) }.map { TensorLayout(info: $0, layer: "", role: .other, classAxis: nil) }
    }

    /// NIR: one layer per node, in the graph's order from its inputs (then any node not reached),
    /// each tensor's role from its parameter name; weights are (out, in, ...) with the class axis 0.
    private mutating func readNIR(_ tensors: [TensorInfo], graph: NIRGraph) {
        var byNode: [String: [TensorLayout]] = [:]
        for info in tensors {
            guard let (node, parameter) = NIRGraph.split(info.name) else {
                loose.append(TensorLayout(info: info, layer: "", role: .other, classAxis: nil))
                continue
            }
            let rank = info.shape.count
            let entry: TensorLayout = switch parameter {
            case "weight" where rank >= 2: TensorLayout(info: info, layer: node, role: .kernel, classAxis: 0)
            case "bias": TensorLayout(info: info, layer: node, role: .bias, classAxis: rank == 1 ? 0 : nil)
            case "v_threshold", "threshold": TensorLayout(info: info, layer: node, role: .threshold, classAxis: nil)
            case "tau", "tau_mem", "tau_syn": TensorLayout(info: info, layer: node, role: .tau, classAxis: nil)
            case "r": TensorLayout(info: info, layer: node, role: .resistance, classAxis: nil)
            case "v_leak": TensorLayout(info: info, layer: node, role: .leak, classAxis: nil)
            case "v_reset": TensorLayout(info: info, layer: node, role: .reset, classAxis: nil)
            default: TensorLayout(info: info, layer: node, role: .other, classAxis: nil)
            }
            byNode[node, default: []].append(entry)
        }
        let inputs = graph.nodes.filter { $0.type == "Input" }.map(\.name)
        var order: [String] = [], queue = inputs, seen = Set(inputs)
        let outbound = graph.outbound
        while !queue.isEmpty {
            let node = queue.removeFirst()
            order.append(node)
            for next in outbound[node] ?? [] where seen.insert(next).inserted { queue.append(next) }
        }
        order += graph.nodes.map(\.name).filter { !seen.contains($0) }
        layers = order.compactMap { node in
            byNode[node].map { Layer(name: node, className: graph.node(node)?.type, tensors: $0) }
        }
    }

    /// Keras 3 `.weights.h5`: `layers/<name>/vars/<i>`; roles by position, which depend on the
    /// layer's class, read from its group name (Keras derives it from the class: `dense_1`,
    /// `separable_conv2d`, `lstm/cell`, `layer_normalization`); layers in natural name order.
    /// With a model config (a `.keras` archive's `config.json`), each group's `vars` `name` names
    /// the layer in the config, which gives its class, and a BatchNormalization's `center` and
    /// `scale` say which of gamma and beta it stores.
    private mutating func readKeras3(_ tensors: [TensorInfo], metadata: CheckpointMetadata) {
        let config = KerasModelConfig(json: metadata.modelConfig)
        modelConfig = config
        var grouped: [String: [(Int, TensorInfo)]] = [:]
        for info in tensors {
            guard let range = info.name.range(of: "/vars/", options: .backwards),
                  let index = Int(info.name[range.upperBound...]) else {
                loose.append(TensorLayout(info: info, layer: "", role: .other, classAxis: nil))
                continue
            }
            grouped[String(info.name[..<range.lowerBound]), default: []].append((index, info))
        }
        for path in grouped.keys.sorted(by: NaturalOrder.less) {
            let name = path.hasPrefix("layers/") ? String(path.dropFirst("layers/".count)) : path
            let variables = grouped[path]!.sorted { $0.0 < $1.0 }
            let configName = metadata.keras3LayerNames[path]
            if let configName, configName != name { configNames[name] = configName }
            var positions = Self.keras3Roles(layer: name)
            if let configName, let parts = config?.batchNormalization[configName] {
                positions = (parts.scale ? [.gamma] : []) + (parts.center ? [.beta] : []) + [.movingMean, .movingVariance]
            }
            let entries = variables.map { index, info -> TensorLayout in
                var role = positions.indices.contains(index) ? positions[index] : .other
                // Kernels have 2 or more axes and biases one: anything else is not what the position says.
                if role == .kernel || role == .recurrentKernel || role == .depthwiseKernel || role == .embedding, info.shape.count < 2 { role = .other }
                if role == .bias, info.shape.count != 1 { role = .other }
                return Self.kerasTensor(info, layer: name, role: role)
            }
            layers.append(Layer(name: name, className: configName.flatMap { config?.classOfLayer[$0] }, tensors: entries))
        }
    }

    /// The roles of `vars/0, 1, ...` of a Keras 3 layer, from the class its group name is derived from.
    static func keras3Roles(layer name: String) -> [TensorRole] {
        let leaf = name.split(separator: "/").map(String.init).last(where: { $0 != "cell" && !$0.hasPrefix("forward_") && !$0.hasPrefix("backward_") })
            ?? name
        let words = name.lowercased()
        if words.contains("separable_conv") { return [.depthwiseKernel, .kernel, .bias] }
        if words.contains("depthwise_conv") { return [.depthwiseKernel, .bias] }
        if ["lstm", "gru", "simple_rnn", "conv_lstm"].contains(where: words.contains) { return [.kernel, .recurrentKernel, .bias] }
        if leaf.hasPrefix("embedding") { return [.embedding] }
        if leaf.hasPrefix("layer_normalization") || leaf.hasPrefix("group_normalization") || leaf.hasPrefix("rms_normalization") {
            return [.gamma, .beta]
        }
        if leaf.hasPrefix("normalization") { return [.movingMean, .movingVariance, .other] }  // preprocessing: mean, variance, count
        if leaf.contains("normalization") { return [.gamma, .beta, .movingMean, .movingVariance] }  // batch normalization
        return [.kernel, .bias]
    }

    /// State dicts and other files: `<layer><sep><leaf>`. PyTorch orientation for `weight`, Keras
    /// and Flax orientation for `kernel`; embeddings by leaf (`embedding`, `embeddings`) or by a
    /// layer named for them (`embed_tokens`, `word_embeddings`, `wte`); recurrent weights by
    /// PyTorch's names (`weight_hh_l0`); layers in natural name order.
    private mutating func readStateDict(_ tensors: [TensorInfo], separator: Character) {
        var grouped: [String: [TensorLayout]] = [:]
        for info in tensors {
            let parts = info.name.split(separator: separator, omittingEmptySubsequences: false)
            let leaf = String(parts.last ?? "")
            let layer = parts.dropLast().joined(separator: String(separator))
            let layerLeaf = String(parts.dropLast().last ?? "").lowercased()
            let isEmbeddingLayer = layerLeaf.contains("embed") || ["wte", "wpe"].contains(layerLeaf)
            let rank = info.shape.count
            let entry: TensorLayout
            switch leaf {
            case "weight" where rank >= 2 && isEmbeddingLayer, "embedding" where rank >= 2, "embeddings" where rank >= 2:
                entry = TensorLayout(info: info, layer: layer, role: .embedding, classAxis: nil)
            case "weight" where rank >= 2:
                entry = TensorLayout(info: info, layer: layer, role: .kernel, classAxis: 0)
            case _ where leaf.hasPrefix("weight_ih") && rank >= 2:
                entry = TensorLayout(info: info, layer: layer, role: .kernel, classAxis: 0)
            case _ where leaf.hasPrefix("weight_hh") && rank >= 2:
                entry = TensorLayout(info: info, layer: layer, role: .recurrentKernel, classAxis: nil)
            case _ where leaf.hasPrefix("bias_ih") || leaf.hasPrefix("bias_hh"):
                entry = TensorLayout(info: info, layer: layer, role: .bias, classAxis: nil)
            case "kernel", "kernel:0":
                entry = Self.kerasTensor(info, layer: layer, role: .kernel)
            case "recurrent_kernel", "recurrent_kernel:0":
                entry = TensorLayout(info: info, layer: layer, role: .recurrentKernel, classAxis: nil)
            case "depthwise_kernel", "depthwise_kernel:0":
                entry = TensorLayout(info: info, layer: layer, role: .depthwiseKernel, classAxis: nil)
            case "pointwise_kernel", "pointwise_kernel:0":
                entry = Self.kerasTensor(info, layer: layer, role: .kernel)
            case "bias", "bias:0":
                entry = TensorLayout(info: info, layer: layer, role: .bias, classAxis: rank == 1 ? 0 : nil)
            case "weight", "scale", "gamma", "gamma:0": entry = TensorLayout(info: info, layer: layer, role: .gamma, classAxis: nil)
            case "beta", "beta:0": entry = TensorLayout(info: info, layer: layer, role: .beta, classAxis: nil)
            case "running_mean", "moving_mean", "moving_mean:0": entry = TensorLayout(info: info, layer: layer, role: .movingMean, classAxis: nil)
            case "running_var", "moving_variance", "moving_variance:0": entry = TensorLayout(info: info, layer: layer, role: .movingVariance, classAxis: nil)
            case "threshold", "v_threshold": entry = TensorLayout(info: info, layer: layer, role: .threshold, classAxis: nil)
            default: entry = TensorLayout(info: info, layer: layer, role: Self.role(fromName: leaf), classAxis: nil)
            }
            grouped[layer, default: []].append(entry)
        }
        Self.joinDetachedBiases(&grouped, separator: separator)
        layers = grouped.keys.sorted(by: NaturalOrder.less).map { Layer(name: $0, className: nil, tensors: grouped[$0]!) }
    }

    /// Where a Keras layer's kernel and bias disagree with each other or with the units its config
    /// declares: a kernel that is not a float matrix, a bias not as long as the kernel has units
    /// (twice as long in a cuDNN recurrent layer: its input and recurrent halves).
    private static func disagreements(_ layer: Layer, declaredUnits: Int?, cudnn: Bool) -> [String] {
        var problems: [String] = []
        let kernels = layer.tensors.filter { $0.role == .kernel }
        for kernel in kernels {
            if kernel.info.shape.count < 2 { problems.append("kernel '\(kernel.info.name)' has shape \(kernel.info.shape); a kernel has two axes or more") }
            if !kernel.info.dtype.isEditable { problems.append("kernel '\(kernel.info.name)' is \(kernel.info.dtype.rawValue), not floats") }
        }
        guard let units = layer.outputUnits else { return problems }
        for bias in layer.tensors where bias.role == .bias {
            // A cuDNN bias has two halves of the kernel's width (compared by halving: no product
            // of a hostile width can overflow).
            let fits = bias.info.shape.count == 1 && (cudnn ? bias.info.shape[0] % 2 == 0 && bias.info.shape[0] / 2 == units
                                                            : bias.info.shape[0] == units)
            if !fits {
                problems.append("bias '\(bias.info.name)' has shape \(bias.info.shape) for a kernel of \(units) units"
                                + (cudnn ? " in a cuDNN layer (expected twice that: input and recurrent halves)" : ""))
            }
            if !bias.info.dtype.isEditable { problems.append("bias '\(bias.info.name)' is \(bias.info.dtype.rawValue), not floats") }
        }
        if let declaredUnits, declaredUnits != units {
            problems.append("the model_config declares \(declaredUnits) units, the kernel has \(units)")
        }
        return problems
    }

    /// A layer without a weight whose bias fits the weight of its one sub-layer, which has no bias
    /// of its own, is that weight's bias: PyTorch Geometric's `GCNConv` keeps `conv.lin.weight`
    /// (out, in) and `conv.bias` (out). The bias moves to the sub-layer, so a class is its row and
    /// its bias together.
    private static func joinDetachedBiases(_ grouped: inout [String: [TensorLayout]], separator: Character) {
        for layer in grouped.keys.sorted() {
            guard let entries = grouped[layer], !entries.contains(where: { $0.role == .kernel }),
                  let bias = entries.first(where: { $0.role == .bias && $0.info.shape.count == 1 }) else { continue }
            let prefix = layer.isEmpty ? "" : layer + String(separator)
            let children = grouped.keys.filter { $0.hasPrefix(prefix) && $0 != layer && !$0.dropFirst(prefix.count).contains(separator) }
            let weighted = children.filter { child in grouped[child]!.contains { $0.role == .kernel && $0.classAxis == 0 } }
            guard weighted.count == 1, let child = weighted.first, !grouped[child]!.contains(where: { $0.role == .bias }),
                  grouped[child]!.first(where: { $0.role == .kernel })?.info.shape.first == bias.info.shape[0] else { continue }
            grouped[child]!.append(TensorLayout(info: bias.info, layer: child, role: .bias, classAxis: 0))
            let rest = entries.filter { $0.info.name != bias.info.name }
            grouped[layer] = rest.isEmpty ? nil : rest
        }
    }

    private static func kerasTensor(_ info: TensorInfo, layer: String, role: TensorRole) -> TensorLayout {
        let axis: Int? = switch role {
        case .kernel where info.shape.count >= 2: info.shape.count - 1
        case .bias where info.shape.count == 1: 0
        default: nil
        }
        return TensorLayout(info: info, layer: layer, role: role, classAxis: axis)
    }

    /// Role from a Keras weight name such as `sequential/dense/kernel` or `dense/kernel:0`.
    private static func role(fromName name: String) -> TensorRole {
        var leaf = String(name.split(separator: "/").last ?? "")
        if let colon = leaf.firstIndex(of: ":") { leaf = String(leaf[..<colon]) }
        switch leaf {
        case "kernel", "pointwise_kernel": return .kernel
        case "recurrent_kernel": return .recurrentKernel
        case "depthwise_kernel": return .depthwiseKernel
        case "bias": return .bias
        case "gamma": return .gamma
        case "beta": return .beta
        case "moving_mean": return .movingMean
        case "moving_variance": return .movingVariance
        case "embeddings": return .embedding
        default: return .other
        }
    }
}

/// Orders names the way people number layers: `dense` < `dense_1` < `dense_2` < `dense_10`.
enum NaturalOrder {
    static func less(_ a: String, _ b: String) -> Bool {
        let (x, y) = (chunks(a), chunks(b))
        for (p, q) in zip(x, y) where p != q {
            switch (p, q) {
            case (.number(let m), .number(let n)): return m < n
            case (.number, .text): return true
            case (.text, .number): return false
            case (.text(let s), .text(let t)): return s < t
            }
        }
        return x.count < y.count
    }

    private enum Chunk: Equatable { case text(String), number(Int) }

    private static func chunks(_ s: String) -> [Chunk] {
        var result: [Chunk] = []
        var current = "", digits = false
        for character in s {
            if character.isASCII && character.isNumber != digits, !current.isEmpty {
                result.append(digits ? .number(Int(current) ?? .max) : .text(current))
                current = ""
            }
            digits = character.isASCII && character.isNumber
            current.append(character)
        }
        if !current.isEmpty { result.append(digits ? .number(Int(current) ?? .max) : .text(current)) }
        return result
    }
}

extension Array {
    /// (elements satisfying `predicate`, the rest), each in order.
    func partitioned(by predicate: (Element) -> Bool) -> ([Element], [Element]) {
        var yes: [Element] = [], no: [Element] = []
        for element in self { if predicate(element) { yes.append(element) } else { no.append(element) } }
        return (yes, no)
    }
}
