import Foundation

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
    /// Which of gamma (`scale`) and beta (`center`) each BatchNormalization layer has.
    var batchNormalization: [String: (center: Bool, scale: Bool)] = [:]

    /// The layer classes whose kernel's last axis is exactly their `units` or `filters` (a recurrent
    /// layer's is a multiple: one block per gate).
    static let kernelWidthIsUnits: Set<String> = ["Dense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
                                                   "Conv3DTranspose", "SeparableConv1D", "SeparableConv2D"]

    init?(json: String?) {
        guard let json, let root = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let config = root["config"] as? [String: Any] else { return nil }
        isSequential = root["class_name"] as? String == "Sequential"
        var order: [String] = []
        for case let layer as [String: Any] in config["layers"] as? [Any] ?? [] {
            guard let name = (layer["config"] as? [String: Any])?["name"] as? String ?? layer["name"] as? String,
                  let className = layer["class_name"] as? String else { continue }
            classOfLayer[name] = className
            let settings = layer["config"] as? [String: Any]
            if Self.kernelWidthIsUnits.contains(className), let units = (settings?["units"] ?? settings?["filters"]) as? Int { unitsOfLayer[name] = units }
            if className == "BatchNormalization", let settings {
                batchNormalization[name] = (settings["center"] as? Bool ?? true, settings["scale"] as? Bool ?? true)
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
        if let outputs = config["output_layers"] as? [Any] {
            outputLayers = outputs.first is String ? [outputs[0] as? String].compactMap { $0 } : outputs.compactMap { ($0 as? [Any])?.first as? String }
        } else if isSequential, let last = order.last {
            outputLayers = [last]
        }
    }

    /// The layers named in a layer's first inbound node: Keras 2 `[[[name, node, tensor, kwargs], ...]]`,
    /// Keras 3 `[{"args": [tensor or [tensors]], ...}]` with `keras_history` = [name, node, tensor].
    private static func inboundLayers(_ nodes: Any?) -> [String] {
        guard let node = (nodes as? [Any])?.first else { return [] }
        if let keras2 = node as? [Any] { return keras2.compactMap { ($0 as? [Any])?.first as? String } }
        guard let keras3 = node as? [String: Any] else { return [] }
        var names: [String] = []
        func collect(_ value: Any) {
            if let tensor = value as? [String: Any], let config = tensor["config"] as? [String: Any],
               let history = config["keras_history"] as? [Any], let name = history.first as? String {
                names.append(name)
            } else if let list = value as? [Any] {
                list.forEach(collect)
            }
        }
        (keras3["args"] as? [Any] ?? []).forEach(collect)
        return names
    }
}
