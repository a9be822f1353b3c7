import Foundation

/// Reads a checkpoint's model structure from its names and metadata (see `Layout`).
struct LayoutReader {
    private(set) var kind = LayoutKind.stateDict
    private(set) var layers: [Layer] = []
    /// Tensors that belong to no layer (optimizer state, counters).
    private(set) var loose: [TensorLayout] = []
    private(set) var optimizerGroups: [String] = []
    private(set) var declaredOutputLayers: [String] = []

    init(checkpoint: any CheckpointFile) {
        let tensors = checkpoint.tensors
        // Optimizer state is Keras' own: `optimizer_weights/` beside `model_weights/` (legacy .h5),
        // `optimizer/` beside `layers/` (Keras 3). Other files' groups of those names are left alone.
        let isKeras3 = tensors.contains { $0.name.hasPrefix("layers/") && $0.name.contains("/vars/") }
        if checkpoint.format.mayHoldKerasOptimizerState {
            let candidates = checkpoint.metadata.layerNames != nil ? ["optimizer_weights"] : isKeras3 ? ["optimizer"] : []
            optimizerGroups = candidates.filter { group in tensors.contains { $0.name.hasPrefix(group + "/") } }
        }
        let (optimizer, model) = tensors.partitioned { info in optimizerGroups.contains { info.name.hasPrefix($0 + "/") } }
        loose = optimizer.map { TensorLayout(info: $0, layer: "", role: .optimizer, classAxis: nil) }

        if let layerNames = checkpoint.metadata.layerNames {
            kind = .kerasLegacy
            readKerasLegacy(model, metadata: checkpoint.metadata, layerNames: layerNames)
        } else if isKeras3 {
            kind = .keras3Weights
            readKeras3(model)
        } else {
            kind = .stateDict
            readStateDict(model, separator: checkpoint.format.nameSeparator)
        }
    }

    /// Keras `.h5`: layers in `layer_names` order, tensors from each layer's `weight_names`.
    private mutating func readKerasLegacy(_ tensors: [TensorInfo], metadata: CheckpointMetadata, layerNames: [String]) {
        let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
        let classes = KerasModelConfig(json: metadata.modelConfig)
        declaredOutputLayers = classes?.outputLayers ?? []
        var claimed = Set<String>()
        for layer in layerNames where !layers.contains(where: { $0.name == layer }) {
            let prefix = metadata.layerGroup.isEmpty ? layer : "\(metadata.layerGroup)/\(layer)"
            let entries: [TensorLayout] = (metadata.weightNames[layer] ?? []).compactMap { weight in
                guard let info = byName["\(prefix)/\(weight)"], claimed.insert(info.name).inserted else { return nil }
                return Self.kerasTensor(info, layer: layer, role: Self.role(fromName: weight))
            }
            layers.append(Layer(name: layer, className: classes?.classOfLayer[layer], tensors: entries))
        }
        loose += tensors.filter { !claimed.contains($0.name) }.map { TensorLayout(info: $0, layer: "", role: .other, classAxis: nil) }
    }

    /// Keras 3 `.weights.h5`: `layers/<name>/vars/<i>`; roles by position (kernel, bias; or
    /// gamma, beta, moving mean and variance for batch normalization); layers in natural name order.
    private mutating func readKeras3(_ tensors: [TensorInfo]) {
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
            let isNormalization = name.contains("normalization")
            let normalizationRoles: [TensorRole] = [.gamma, .beta, .movingMean, .movingVariance]
            let entries = variables.map { index, info -> TensorLayout in
                let role: TensorRole
                if isNormalization {
                    role = normalizationRoles.indices.contains(index) ? normalizationRoles[index] : .other
                } else if index == 0, info.shape.count >= 2 {
                    role = name.contains("embedding") ? .embedding : .kernel
                } else if index == 1, info.shape.count == 1 {
                    role = .bias
                } else {
                    role = .other
                }
                return Self.kerasTensor(info, layer: name, role: role)
            }
            layers.append(Layer(name: name, className: nil, tensors: entries))
        }
    }

    /// State dicts and other files: `<layer><sep><role>`, PyTorch orientation for `weight`, Keras
    /// orientation for `kernel`; layers in natural name order.
    private mutating func readStateDict(_ tensors: [TensorInfo], separator: Character) {
        var grouped: [String: [TensorLayout]] = [:]
        for info in tensors {
            let parts = info.name.split(separator: separator, omittingEmptySubsequences: false)
            let leaf = String(parts.last ?? "")
            let layer = parts.dropLast().joined(separator: String(separator))
            let entry: TensorLayout
            switch leaf {
            case "weight" where info.shape.count >= 2:
                entry = TensorLayout(info: info, layer: layer, role: .kernel, classAxis: 0)
            case "kernel", "kernel:0":
                entry = Self.kerasTensor(info, layer: layer, role: .kernel)
            case "bias", "bias:0":
                entry = TensorLayout(info: info, layer: layer, role: .bias, classAxis: info.shape.count == 1 ? 0 : nil)
            case "weight": entry = TensorLayout(info: info, layer: layer, role: .gamma, classAxis: nil)
            case "running_mean": entry = TensorLayout(info: info, layer: layer, role: .movingMean, classAxis: nil)
            case "running_var": entry = TensorLayout(info: info, layer: layer, role: .movingVariance, classAxis: nil)
            case "threshold", "v_threshold": entry = TensorLayout(info: info, layer: layer, role: .threshold, classAxis: nil)
            default: entry = TensorLayout(info: info, layer: layer, role: Self.role(fromName: leaf), classAxis: nil)
            }
            grouped[layer, default: []].append(entry)
        }
        layers = grouped.keys.sorted(by: NaturalOrder.less).map { Layer(name: $0, className: nil, tensors: grouped[$0]!) }
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
        case "kernel", "depthwise_kernel", "pointwise_kernel": return .kernel
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

/// The parts of Keras' `model_config` a layout needs: each layer's class and the declared output.
struct KerasModelConfig {
    var classOfLayer: [String: String] = [:]
    /// The layers named in a Functional model's `output_layers`, in order.
    var outputLayers: [String] = []

    init?(json: String?) {
        guard let json, let root = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let config = root["config"] as? [String: Any] else { return nil }
        for case let layer as [String: Any] in config["layers"] as? [Any] ?? [] {
            guard let name = (layer["config"] as? [String: Any])?["name"] as? String ?? layer["name"] as? String,
                  let className = layer["class_name"] as? String else { continue }
            classOfLayer[name] = className
        }
        // Functional models: output_layers = [[name, node, tensor], ...], or one [name, node, tensor].
        if let outputs = config["output_layers"] as? [Any] {
            outputLayers = outputs.first is String ? [outputs[0] as! String] : outputs.compactMap { ($0 as? [Any])?.first as? String }
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
