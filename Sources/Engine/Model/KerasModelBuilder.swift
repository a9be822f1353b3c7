import Checkpoint
import Foundation

/// Rebuilds a Keras model from a legacy `.h5` file or a `.keras` archive: the architecture from
/// `model_config` (`config.json` in an archive: the same JSON), the weights through the
/// checkpoint's layout (`model_weights/<layer>/...`, or `layers/<group>/vars/<i>` whose `vars`
/// carry the layer's name). Sequential models are a chain; functional models are the graph of
/// their layers' calls (`KerasGraph`), with one input and one output, and a layer called more
/// than once is one layer, its weights shared.
enum KerasModelBuilder {
    static func build(_ checkpoint: any CheckpointFile) throws -> Network {
        let path = checkpoint.path
        guard let root = checkpoint.metadata.modelConfig?.foundationObject as? [String: Any],
              let config = root["config"] as? [String: Any], let entries = config["layers"] as? [[String: Any]] else {
            throw EngineError.noModelConfig(path: path)
        }
        let keras2 = checkpoint.metadata.kerasVersion.map { $0.hasPrefix("2.") || $0.hasPrefix("1.") } ?? false
        let settings = entries.map { KerasSettings(entry: $0, path: path, keras2: keras2) }
        // Each step: a layer's settings and the tensors it takes (nil: the previous step's output).
        var steps: [(settings: KerasSettings, inputs: [KerasGraph.Tensor]?, call: Int)] = []
        var inputShape = try (config["build_input_shape"] as? [Any]).map { try shape($0, of: config["name"] as? String ?? "model", path) }
        var inputLayer: String?
        if config["output_layers"] != nil && root["class_name"] as? String != "Sequential" {
            let graph = try KerasGraph(config: config, entries: entries, path: path)
            let byName = Dictionary(settings.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            steps = graph.calls.compactMap { call in byName[call.layer].map { ($0, call.inputs, call.index) } }
            inputLayer = graph.input
        } else {
            steps = settings.filter { $0.className != "InputLayer" }.map { ($0, nil, 0) }
        }
        for s in settings where inputLayer == nil || s.name == inputLayer {
            if let batchShape = (s["batch_shape"] ?? s["batch_input_shape"]) as? [Any], inputShape == nil {
                inputShape = try shape(batchShape, of: s.name, path)
            }
        }
        guard let inputShape else { throw EngineError.noModelConfig(path: path) }

        let layout = Layout(of: checkpoint)
        var nodes: [Node] = [], shapes = [inputShape]
        var made: [KerasGraph.Tensor: Int] = [:]  // the value each call's output is
        var built: [String: Node.Operation] = [:]  // each layer once, however often it is called
        for (s, tensors, call) in steps {
            let inputs = try tensors.map { try $0.map { tensor in
                guard let value = tensor.layer == inputLayer ? 0 : made[tensor] else {
                    throw EngineError.unsupportedGraph(path: path, problem: "has layer '\(s.name)' take tensor \(tensor) before it is made")
                }
                return value
            } } ?? [nodes.count]
            let operation: Node.Operation
            if let existing = built[s.name] {
                operation = existing
            } else {
                let reader = WeightReader(checkpoint: checkpoint, layout: layout, name: s.name, path: path)
                operation = try KerasLayerFactory.operation(s, inputs: inputs.map { shapes[$0] }, reader: reader)
                built[s.name] = operation
            }
            let node = Node(operation, inputs: inputs)
            let output = try node.outputShape(for: inputs.map { shapes[$0] }, path: path)
            // Sizes come from the file: a shape too large to count is refused before a layer multiplies it.
            guard Network.count(output) != nil else {
                throw EngineError.unsupportedOption(path: path, layer: s.name, option: "an output of shape \(output), too large to hold in memory,")
            }
            shapes.append(output)
            nodes.append(node)
            made[KerasGraph.Tensor(layer: s.name, call: call, output: 0)] = nodes.count
        }
        return try Network(path: path, inputShape: inputShape, nodes: nodes)
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
}
