/// Keras Rescaling: x · scale + offset, each one number or one per channel (the last axis).
struct Rescaling: Layer {
    let name: String
    let scale: [Float]
    let offset: [Float]

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        for values in [scale, offset] where values.count != 1 && values.count != input.last {
            throw EngineError.unsupportedOption(path: path, layer: name, option: "\(values.count) scales or offsets for \(input.last ?? 0) channels")
        }
        return input
    }

    func forward(_ input: Batch) -> Batch {
        let channels = input.shape.last ?? 1
        var values = input.values
        values.withUnsafeMutableBufferPointer { v in
            for i in v.indices {
                let c = i % channels
                v[i] = v[i] * scale[scale.count == 1 ? 0 : c] + offset[offset.count == 1 ? 0 : c]
            }
        }
        return Batch(values: values, shape: input.shape)
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        guard inputGradient else { return nil }
        let channels = input.shape.last ?? 1
        var delta = gradient.values
        delta.withUnsafeMutableBufferPointer { g in
            for i in g.indices { g[i] *= scale[scale.count == 1 ? 0 : i % channels] }
        }
        return Batch(values: delta, shape: input.shape)
    }
}
