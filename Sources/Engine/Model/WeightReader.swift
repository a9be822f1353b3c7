import Checkpoint

/// Reads one layer's weights, by role, as float32.
struct WeightReader {
    let checkpoint: any CheckpointFile
    let layer: Checkpoint.Layer?
    let name: String
    let path: String

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
            if let entry = layer?.tensors.first(where: { $0.role == role }) { return try read(entry) }
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

    /// The layer's only weight, whatever its role (a PReLU's `alpha`, which layouts do not name).
    func only(what: String) throws -> Weight {
        guard let tensors = layer?.tensors, !tensors.isEmpty else { throw EngineError.missingWeights(path: path, layer: name, role: what) }
        guard tensors.count == 1 else {
            throw EngineError.weightShape(path: path, layer: name, tensor: tensors.map(\.info.name).joined(separator: ", "), expected: "one tensor, its \(what)",
                                          actual: [tensors.count])
        }
        return try read(tensors[0])
    }
}
