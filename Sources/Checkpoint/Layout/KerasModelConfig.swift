/// The parts of Keras' `model_config` a layout needs: each layer's class and declared units, which
/// layers feed it, and the declared outputs (Keras 2 and Keras 3 forms).
struct KerasModelConfig: Sendable {
    var classOfLayer: [String: String] = [:]
    /// The units a layer declares (Dense `units`, convolution `filters`): its kernel's output extent.
    var unitsOfLayer: [String: Int] = [:]
    /// The layers each layer takes its inputs from (its first call), in order.
    var inbound: [String: [String]] = [:]
    /// A Functional model's `output_layers`, in order; for a Sequential model, its last layer.
    var outputLayers: [String] = []
    var isSequential = false
    /// The layers in the config's order (the model's).
    var layerOrder: [String] = []
    /// Keras 2's cuDNN recurrent layers (CuDNNLSTM, CuDNNGRU), also inside a Bidirectional: their
    /// biases hold an input and a recurrent half, twice the kernel's width.
    var cudnnLayers: Set<String> = []
    /// Which of gamma (`scale`) and beta (`center`) each BatchNormalization layer has.
    var batchNormalization: [String: (center: Bool, scale: Bool)] = [:]

    /// The layer classes whose kernel's last axis is exactly their `units` or `filters` (a recurrent
    /// layer's is a multiple: one block per gate).
    static let kernelWidthIsUnits: Set<String> = ["Dense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
                                                   "Conv3DTranspose", "SeparableConv1D", "SeparableConv2D"]

    init?(json root: JSONValue?) {
        guard let root, let config = root["config"], config.members != nil else { return nil }
        isSequential = root["class_name"]?.string == "Sequential"
        var order: [String] = []
        for layer in config["layers"]?.array ?? [] where layer.members != nil {
            guard let name = layer["config"]?["name"]?.string ?? layer["name"]?.string,
                  let className = layer["class_name"]?.string else { continue }
            classOfLayer[name] = className
            let settings = layer["config"]
            if Self.kernelWidthIsUnits.contains(className), let units = (settings?["units"] ?? settings?["filters"])?.int { unitsOfLayer[name] = units }
            let wrapped = className == "Bidirectional" ? settings?["layer"]?["class_name"]?.string : nil
            if className.hasPrefix("CuDNN") || wrapped?.hasPrefix("CuDNN") == true { cudnnLayers.insert(name) }
            if className == "BatchNormalization", let settings, settings.members != nil {
                batchNormalization[name] = (settings["center"]?.bool ?? true, settings["scale"]?.bool ?? true)
            }
            inbound[name] = Self.inboundLayers(layer["inbound_nodes"])
            order.append(name)
        }
        // A Sequential model's layers feed each other in order (its config lists no inbound nodes).
        if isSequential {
            for (previous, layer) in zip(order, order.dropFirst()) where inbound[layer]?.isEmpty ?? true { inbound[layer] = [previous] }
        }
        layerOrder = order
        // Functional models: output_layers = [[name, node, tensor], ...], or one [name, node, tensor].
        if let outputs = config["output_layers"]?.array {
            outputLayers = outputs.first?.string != nil ? [outputs[0].string].compactMap { $0 } : outputs.compactMap { $0.array?.first?.string }
        } else if isSequential, let last = order.last {
            outputLayers = [last]
        }
    }

    /// The layers named in a layer's first inbound node: Keras 2 `[[[name, node, tensor, kwargs], ...]]`,
    /// Keras 3 `[{"args": [tensor or [tensors]], ...}]` with `keras_history` = [name, node, tensor].
    private static func inboundLayers(_ nodes: JSONValue?) -> [String] {
        guard let node = nodes?.array?.first else { return [] }
        if let keras2 = node.array { return keras2.compactMap { $0.array?.first?.string } }
        guard node.members != nil else { return [] }
        var names: [String] = []
        func collect(_ value: JSONValue) {
            if let history = value["config"]?["keras_history"]?.array, let name = history.first?.string {
                names.append(name)
            } else if let list = value.array {
                list.forEach(collect)
            }
        }
        (node["args"]?.array ?? []).forEach(collect)
        return names
    }
}
