import Checkpoint

/// Reads one layer's weights, by role, as float32.
struct WeightReader {
    let checkpoint: any CheckpointFile
    /// The layer's tensors in the layout (a Keras 3 layer's and its sublayers': an RNN's cell).
    let tensors: [TensorLayout]
    let name: String
    let path: String

    init(checkpoint: any CheckpointFile, tensors: [TensorLayout], name: String, path: String) {
        (self.checkpoint, self.tensors, self.name, self.path) = (checkpoint, tensors, name, path)
    }

    /// The tensors of `name` in `layout`: the layer the config names so, else (Keras 3 files keep a
    /// layer's sublayers in groups of their own, named after them: an RNN's `cell`, a Bidirectional's
    /// `forward_layer`) every layer in the group of that name.
    init(checkpoint: any CheckpointFile, layout: Layout, name: String, path: String) {
        var tensors = layout.layer(configName: name)?.tensors ?? []
        if tensors.isEmpty, let group = checkpoint.metadata.keras3LayerNames.first(where: { key, value in
            value == name && key.hasPrefix("layers/") && !key.dropFirst("layers/".count).contains("/")
        })?.key {
            let prefix = String(group.dropFirst("layers/".count)) + "/"
            tensors = layout.layers.filter { $0.name.hasPrefix(prefix) }.flatMap(\.tensors)
        }
        self.init(checkpoint: checkpoint, tensors: tensors, name: name, path: path)
    }

    struct Weight { let name: String; let shape: [Int]; let values: [Float] }

    private func read(_ entry: TensorLayout) throws -> Weight {
        let values: [Float] = switch try checkpoint.read(entry.info).values {
        case .float32(let v): v
        case .float64(let v): v.map(Float.init)
        }
        return Weight(name: entry.info.name, shape: entry.info.shape, values: values)
    }

    private func read(_ roles: [TensorRole]) throws -> Weight? {
        for role in roles {
            if let entry = tensors.first(where: { $0.role == role }) { return try read(entry) }
        }
        return nil
    }

    /// A weight of `count` values (a bias, a scale), if the layer has one.
    func optional(_ role: TensorRole, count: Int) throws -> Weight? {
        guard let weight = try read([role]) else { return nil }
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

    /// A weight the layer must have, with `rank` axes: the first of `roles` it has (files name the
    /// same weight differently: Keras 3 calls a DepthwiseConv2D's kernel `kernel`, Keras 2 `depthwise_kernel`).
    func required(_ role: TensorRole, or others: TensorRole..., rank: Int) throws -> Weight {
        guard let weight = try read([role] + others) else { throw EngineError.missingWeights(path: path, layer: name, role: role.rawValue) }
        guard weight.shape.count == rank, !weight.shape.contains(0) else {
            throw EngineError.weightShape(path: path, layer: name, tensor: weight.name, expected: "\(rank) axes, none empty", actual: weight.shape)
        }
        return weight
    }

    /// The weight whose name ends in `/leaf` (or `/leaf:0`), else the first of `role`: weights
    /// layouts give no role of their own (a preprocessing Normalization's `mean` and `variance`
    /// in a legacy `.h5`; a Keras 3 file gives them by position).
    func named(_ leaf: String, or role: TensorRole) throws -> Weight? {
        if let entry = tensors.first(where: { $0.info.name.hasSuffix("/" + leaf) || $0.info.name.hasSuffix("/" + leaf + ":0") }) {
            return try read(entry)
        }
        return try read([role])
    }

    /// A recurrent cell's kernel, recurrent kernel and bias (if any), among the tensors whose names
    /// hold `part` (a Bidirectional's `forward_` or `backward_`; "" for all): by their leaf names
    /// (`kernel`, `recurrent_kernel`, `bias`, with or without `:0`), else by their Keras 3 positions
    /// (`vars/0`, `vars/1`, `vars/2`), which layouts cannot tell apart by role inside a Bidirectional.
    func cell(_ part: String = "") throws -> (kernel: Weight, recurrent: Weight, bias: Weight?) {
        let candidates = tensors.filter { part.isEmpty || $0.info.name.contains(part) }
        func find(_ leaf: String, _ position: Int) throws -> Weight? {
            let entry = candidates.first { entry in
                let name = entry.info.name
                return name.hasSuffix("/" + leaf) || name.hasSuffix("/" + leaf + ":0") || name.hasSuffix("/vars/\(position)")
            }
            return try entry.map(read)
        }
        guard let kernel = try find("kernel", 0), let recurrent = try find("recurrent_kernel", 1) else {
            throw EngineError.missingWeights(path: path, layer: name, role: part.isEmpty ? "kernel and recurrent kernel" : "\(part)layer's kernel and recurrent kernel")
        }
        for weight in [kernel, recurrent] where weight.shape.count != 2 || weight.shape.contains(0) {
            throw EngineError.weightShape(path: path, layer: name, tensor: weight.name, expected: "2 axes, none empty", actual: weight.shape)
        }
        return (kernel, recurrent, try find("bias", 2))
    }

    /// The layer's only weight, whatever its role (a PReLU's `alpha`, which layouts do not name).
    func only(what: String) throws -> Weight {
        guard !tensors.isEmpty else { throw EngineError.missingWeights(path: path, layer: name, role: what) }
        guard tensors.count == 1 else {
            throw EngineError.weightShape(path: path, layer: name, tensor: tensors.map(\.info.name).joined(separator: ", "), expected: "one tensor, its \(what)",
                                          actual: [tensors.count])
        }
        return try read(tensors[0])
    }
}
