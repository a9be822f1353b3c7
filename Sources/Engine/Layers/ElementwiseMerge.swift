/// Keras Add, Subtract, Multiply and Average: one value from the values at the same place in each
/// input, in order (Subtract takes exactly two). Inputs of the same rank broadcast as Keras'
/// do: along an axis, an input of size 1 is repeated to the others' size.
struct ElementwiseMerge: Merge {
    enum Kind: Sendable { case add, subtract, multiply, average }

    let name: String
    let kind: Kind

    func outputShape(for inputs: [[Int]], path: String) throws -> [Int] {
        guard let first = inputs.first, inputs.count >= 2, kind != .subtract || inputs.count == 2 else {
            throw EngineError.unsupportedOption(path: path, layer: name, option: "\(inputs.count) input\(inputs.count == 1 ? "" : "s") (\(kind == .subtract ? "Subtract takes exactly 2" : "a merge takes 2 or more"))")
        }
        var output = first
        for shape in inputs.dropFirst() {
            guard shape.count == output.count else { throw EngineError.shapeMismatch(path: path, layer: name, expected: output, actual: shape) }
            for axis in shape.indices where shape[axis] != output[axis] {
                guard shape[axis] == 1 || output[axis] == 1 else { throw EngineError.shapeMismatch(path: path, layer: name, expected: output, actual: shape) }
                output[axis] = Swift.max(shape[axis], output[axis])
            }
        }
        return output
    }

    /// For an input of `shape` broadcast to `output` (both without the batch axis), the offset in
    /// one sample of the input of each value of one sample of the output; nil when they are equal.
    static func broadcastMap(_ shape: [Int], to output: [Int]) -> [Int]? {
        guard shape != output else { return nil }
        var strides = [Int](repeating: 0, count: shape.count), step = 1
        for axis in shape.indices.reversed() {
            strides[axis] = shape[axis] == 1 ? 0 : step
            step *= shape[axis]
        }
        var map = [0], size = 1
        for axis in output.indices {
            // Row-major: each earlier axis's offsets, then this axis's values within each.
            var next: [Int] = []
            next.reserveCapacity(size * output[axis])
            for base in map { for i in 0..<output[axis] { next.append(base + i * strides[axis]) } }
            map = next
            size *= output[axis]
        }
        return map
    }

    private func outputShape(_ inputs: [Batch]) -> [Int] {
        var output = Array(inputs[0].shape.dropFirst())
        for input in inputs.dropFirst() {
            for axis in output.indices { output[axis] = Swift.max(output[axis], input.shape[axis + 1]) }
        }
        return output
    }

    func forward(_ inputs: [Batch]) -> Batch {
        let shape = outputShape(inputs)
        let width = shape.reduce(1, *), n = inputs[0].samples
        let maps = inputs.map { Self.broadcastMap(Array($0.shape.dropFirst()), to: shape) }
        var out = [Float](repeating: 0, count: n * width)
        out.withUnsafeMutableBufferPointer { y in
            for (index, input) in inputs.enumerated() {
                let inputWidth = input.width
                input.values.withUnsafeBufferPointer { x in
                    for s in 0..<n {
                        let (o, i) = (s &* width, s &* inputWidth)
                        // Most merges take inputs of one shape: those are read in order.
                        let offsets = maps[index]
                        for j in 0..<width {
                            let value = x[i &+ (offsets == nil ? j : offsets![j])]
                            switch (index, kind) {
                            case (0, _): y[o &+ j] = value
                            case (_, .add), (_, .average): y[o &+ j] += value
                            case (_, .subtract): y[o &+ j] -= value
                            case (_, .multiply): y[o &+ j] *= value
                            }
                        }
                    }
                }
            }
            if kind == .average { let count = Float(inputs.count); for j in y.indices { y[j] /= count } }
        }
        return Batch(values: out, shape: [n] + shape)
    }

    func backward(inputs: [Batch], output: Batch, gradient: Batch, needed: [Bool]) -> [Batch?] {
        let shape = Array(output.shape.dropFirst())
        let width = shape.reduce(1, *), n = output.samples
        let maps = inputs.map { Self.broadcastMap(Array($0.shape.dropFirst()), to: shape) }
        return inputs.indices.map { index -> Batch? in
            guard needed[index] else { return nil }
            let inputWidth = inputs[index].width
            var back = [Float](repeating: 0, count: inputs[index].values.count)
            back.withUnsafeMutableBufferPointer { b in
                gradient.values.withUnsafeBufferPointer { g in
                    for s in 0..<n {
                        let (o, i) = (s &* width, s &* inputWidth)
                        for j in 0..<width {
                            var factor: Float = switch kind {
                            case .add: 1
                            case .subtract: index == 0 ? 1 : -1
                            case .average: 1 / Float(inputs.count)
                            case .multiply: 1
                            }
                            if kind == .multiply {
                                for other in inputs.indices where other != index {
                                    factor *= inputs[other].values[s &* inputs[other].width &+ (maps[other]?[j] ?? j)]
                                }
                            }
                            b[i &+ (maps[index]?[j] ?? j)] += g[o &+ j] * factor
                        }
                    }
                }
            }
            return Batch(values: back, shape: inputs[index].shape)
        }
    }
}
