import Checkpoint
import Foundation

/// Rebuilds a Keras model from a legacy `.h5` file or a `.keras` archive: the architecture from
/// `model_config` (`config.json` in an archive: the same JSON), the weights through the
/// checkpoint's layout (`model_weights/<layer>/...`, or `layers/<group>/vars/<i>` whose `vars`
/// carry the layer's name). Sequential models and functional models that are a single chain are
/// supported.
enum KerasModelBuilder {
    static func build(_ checkpoint: any CheckpointFile) throws -> Network {
        let path = checkpoint.path
        guard let json = checkpoint.metadata.modelConfig,
              let root = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let config = root["config"] as? [String: Any], let entries = config["layers"] as? [[String: Any]] else {
            throw EngineError.noModelConfig(path: path)
        }
        let layout = Layout(of: checkpoint)
        var inputShape = try (config["build_input_shape"] as? [Any]).map { try shape($0, of: config["name"] as? String ?? "model", path) }
        var layers: [any Layer] = []
        var currentShape: [Int]?  // the shape flowing into the next layer, once the input shape is known
        var previous: String?
        for entry in entries {
            let className = entry["class_name"] as? String ?? "?"
            let settings = entry["config"] as? [String: Any] ?? [:]
            let name = settings["name"] as? String ?? className
            if root["class_name"] as? String != "Sequential", let previous, let source = inboundLayer(entry), source != previous {
                throw EngineError.unsupportedOption(path: path, layer: name, option: "a functional graph that is not a single chain (input from '\(source)')")
            }
            previous = name
            if let batchShape = (settings["batch_shape"] ?? settings["batch_input_shape"]) as? [Any], inputShape == nil {
                inputShape = try shape(batchShape, of: name, path)
            }
            let reader = WeightReader(checkpoint: checkpoint, layer: layout.layer(configName: name), name: name, path: path)
            switch className {
            case "InputLayer":
                continue
            case "Dense":
                let kernel = try reader.required(.kernel, rank: 2)
                let bias = try reader.optional(.bias, count: kernel.shape[1])
                layers.append(Dense(name: name, kernel: kernel.values, bias: bias?.values, inputs: kernel.shape[0], units: kernel.shape[1],
                                    activation: try activation(settings, name, path), kernelName: kernel.name, biasName: bias?.name))
            case "Conv2D":
                try requireChannelsLast(settings, name, path)
                if let dilation = settings["dilation_rate"] as? [Int], dilation.contains(where: { $0 != 1 }) {
                    throw EngineError.unsupportedOption(path: path, layer: name, option: "dilation_rate \(dilation)")
                }
                if let groups = settings["groups"] as? Int, groups != 1 {
                    throw EngineError.unsupportedOption(path: path, layer: name, option: "groups \(groups)")
                }
                let kernel = try reader.required(.kernel, rank: 4)
                let bias = try reader.optional(.bias, count: kernel.shape[3])
                let strides = try pair(settings, "strides", name, path) ?? (1, 1)
                layers.append(Conv2D(name: name, kernel: kernel.values, bias: bias?.values,
                                     kernelHeight: kernel.shape[0], kernelWidth: kernel.shape[1], channels: kernel.shape[2], filters: kernel.shape[3],
                                     strides: strides, samePadding: try padding(settings, name, path),
                                     activation: try activation(settings, name, path), kernelName: kernel.name, biasName: bias?.name))
            case "MaxPooling2D", "AveragePooling2D":
                try requireChannelsLast(settings, name, path)
                let size = try pair(settings, "pool_size", name, path) ?? (2, 2)
                layers.append(Pooling2D(name: name, kind: className == "MaxPooling2D" ? .max : .average, size: size,
                                        strides: try pair(settings, "strides", name, path) ?? size, samePadding: try padding(settings, name, path)))
            case "Flatten":
                layers.append(Passthrough(name: name, kind: .flatten))
            case "Dropout":
                layers.append(Passthrough(name: name, kind: .identity))
            case "Activation":
                layers.append(ActivationLayer(name: name, function: try activation(settings, name, path)))
            case "BatchNormalization":
                // Only the last axis (channels last): -1, or its index counting the batch axis.
                let axis = (settings["axis"] as? Int) ?? (settings["axis"] as? [Int])?.first ?? -1
                guard axis == -1 || axis == currentShape?.count else {
                    throw EngineError.unsupportedOption(path: path, layer: name, option: "normalization over axis \(axis) (only the last axis is supported)")
                }
                let mean = try reader.required(.movingMean, rank: 1)
                let gamma = try reader.optional(.gamma, count: mean.values.count), beta = try reader.optional(.beta, count: mean.values.count)
                let variance = try reader.required(.movingVariance, count: mean.values.count)
                layers.append(BatchNormalization(name: name, gamma: gamma?.values, beta: beta?.values, mean: mean.values, variance: variance.values,
                                                 epsilon: Float(settings["epsilon"] as? Double ?? 1e-3), gammaName: gamma?.name, betaName: beta?.name,
                                                 meanName: mean.name, varianceName: variance.name))
            default:
                throw EngineError.unsupportedLayer(path: path, layer: name, className: className)
            }
            if let shape = currentShape ?? inputShape { currentShape = try layers.last!.outputShape(for: shape, path: path) }
        }
        guard let inputShape else { throw EngineError.noModelConfig(path: path) }
        return try Network(path: path, inputShape: inputShape, layers: layers)
    }

    /// The layer a functional model's layer takes its input from (Keras 3 and Keras 2 forms).
    private static func inboundLayer(_ entry: [String: Any]) -> String? {
        guard let nodes = entry["inbound_nodes"] as? [Any], let node = nodes.first else { return nil }
        if let keras3 = node as? [String: Any], let arguments = keras3["args"] as? [Any],
           let tensor = arguments.first as? [String: Any], let config = tensor["config"] as? [String: Any],
           let history = config["keras_history"] as? [Any] {
            return history.first as? String
        }
        if let keras2 = node as? [Any], let first = keras2.first as? [Any] { return first.first as? String }
        return nil
    }

    /// A batch shape without its batch axis; every size must be given and positive.
    private static func shape(_ values: [Any], of layer: String, _ path: String) throws -> [Int] {
        let sizes = values.dropFirst().map { $0 as? Int }
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
            let text = values.dropFirst().map { $0 as? Int == nil ? "None" : "\($0)" }.joined(separator: ", ")
            throw EngineError.unsupportedOption(path: path, layer: layer, option: "an input of shape (\(text)) (the engine needs every size fixed and positive)")
        }
        return sizes.map { $0! }
    }

    /// A setting that is one positive integer or two (`strides`, `pool_size`); nil when absent.
    private static func pair(_ settings: [String: Any], _ key: String, _ name: String, _ path: String) throws -> (Int, Int)? {
        guard let value = settings[key] else { return nil }
        let pair: (Int, Int)? = if let values = value as? [Int], values.count == 2 { (values[0], values[1]) }
            else if let single = value as? Int { (single, single) } else { nil }
        guard let pair, pair.0 > 0, pair.1 > 0 else {
            throw EngineError.unsupportedOption(path: path, layer: name, option: "\(key) \(value) (expected one or two positive integers)")
        }
        return pair
    }

    private static func padding(_ settings: [String: Any], _ name: String, _ path: String) throws -> Bool {
        switch (settings["padding"] as? String ?? "valid").lowercased() {
        case "same": return true
        case "valid": return false
        case let other: throw EngineError.unsupportedOption(path: path, layer: name, option: "padding '\(other)'")
        }
    }

    private static func requireChannelsLast(_ settings: [String: Any], _ name: String, _ path: String) throws {
        if let format = settings["data_format"] as? String, format != "channels_last" {
            throw EngineError.unsupportedOption(path: path, layer: name, option: "data_format '\(format)'")
        }
    }

    private static func activation(_ settings: [String: Any], _ name: String, _ path: String) throws -> ActivationFunction {
        guard let value = settings["activation"] else { return .linear }
        guard let text = value as? String else {
            throw EngineError.unsupportedOption(path: path, layer: name, option: "a custom activation")
        }
        return try ActivationFunction(keras: text, layer: name, path: path)
    }
}

/// Reads one layer's weights by role, as float32.
private struct WeightReader {
    let checkpoint: any CheckpointFile
    let layer: Checkpoint.Layer?
    let name: String
    let path: String

    struct Weight { let name: String; let shape: [Int]; let values: [Float] }

    private func read(_ role: TensorRole) throws -> Weight? {
        guard let entry = layer?.tensors.first(where: { $0.role == role }) else { return nil }
        let values: [Float] = switch try checkpoint.read(entry.info).values {
        case .float32(let v): v
        case .float64(let v): v.map(Float.init)
        }
        return Weight(name: entry.info.name, shape: entry.info.shape, values: values)
    }

    /// A weight of `count` values (a bias, a scale), if the layer has one.
    func optional(_ role: TensorRole, count: Int) throws -> Weight? {
        guard let weight = try read(role) else { return nil }
        guard weight.values.count == count else {
            throw EngineError.weightShape(path: path, layer: name, tensor: weight.name, expected: "\(count) values", actual: weight.shape)
        }
        return weight
    }

    /// A weight of `count` values the layer must have.
    func required(_ role: TensorRole, count: Int) throws -> Weight {
        guard let weight = try optional(role, count: count) else { throw EngineError.missingWeights(path: path, layer: name, role: role.rawValue) }
        return weight
    }

    /// A weight the layer must have, with `rank` axes.
    func required(_ role: TensorRole, rank: Int) throws -> Weight {
        guard let weight = try read(role) else { throw EngineError.missingWeights(path: path, layer: name, role: role.rawValue) }
        guard weight.shape.count == rank, !weight.shape.contains(0) else {
            throw EngineError.weightShape(path: path, layer: name, tensor: weight.name, expected: "\(rank) axes, none empty", actual: weight.shape)
        }
        return weight
    }
}
