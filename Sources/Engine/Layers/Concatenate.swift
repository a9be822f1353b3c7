/// Keras Concatenate along one axis (`axis` counts the batch axis, as Keras' does; negative from
/// the end): every other axis must agree.
struct Concatenate: Merge {
    let name: String
    let axis: Int

    /// The axis within a sample (0 = the first axis after the batch), for inputs of `rank` axes
    /// without the batch axis; nil if it is the batch axis or out of range.
    func sampleAxis(rank: Int) -> Int? {
        let counted = axis < 0 ? axis + rank + 1 : axis
        return counted >= 1 && counted <= rank ? counted - 1 : nil
    }

    func outputShape(for inputs: [[Int]], path: String) throws -> [Int] {
        guard let first = inputs.first, inputs.count >= 2 else {
            throw EngineError.unsupportedOption(path: path, layer: name, option: "\(inputs.count) input\(inputs.count == 1 ? "" : "s") (a merge takes 2 or more)")
        }
        guard let a = sampleAxis(rank: first.count) else {
            throw EngineError.unsupportedOption(path: path, layer: name, option: "axis \(axis) of inputs of shape \(first) (the batch axis, or none)")
        }
        var output = first
        for shape in inputs.dropFirst() {
            guard shape.count == first.count, shape.indices.allSatisfy({ $0 == a || shape[$0] == first[$0] }) else {
                throw EngineError.shapeMismatch(path: path, layer: name, expected: first, actual: shape)
            }
            let (sum, overflow) = output[a].addingReportingOverflow(shape[a])
            guard !overflow else { throw EngineError.unsupportedOption(path: path, layer: name, option: "an output too large to hold in memory,") }
            output[a] = sum
        }
        return output
    }

    /// Values per block: the product of the axes after the concatenated one.
    private func inner(_ shape: [Int], _ a: Int) -> Int { shape.dropFirst(a + 2).reduce(1, *) }

    func forward(_ inputs: [Batch]) -> Batch {
        let a = sampleAxis(rank: inputs[0].shape.count - 1)!
        var shape = inputs[0].shape
        shape[a + 1] = inputs.map { $0.shape[a + 1] }.reduce(0, +)
        // Outer blocks: every sample and every index of the axes before `a`.
        let outer = shape.prefix(a + 1).reduce(1, *)
        let chunks = inputs.map { $0.shape[a + 1] * inner($0.shape, a) }
        let total = chunks.reduce(0, +)
        var out = [Float](repeating: 0, count: outer * total)
        out.withUnsafeMutableBufferPointer { y in
            var offset = 0
            for (input, chunk) in zip(inputs, chunks) {
                input.values.withUnsafeBufferPointer { x in
                    for block in 0..<outer {
                        for j in 0..<chunk { y[block &* total &+ offset &+ j] = x[block &* chunk &+ j] }
                    }
                }
                offset += chunk
            }
        }
        return Batch(values: out, shape: shape)
    }

    func backward(inputs: [Batch], output: Batch, gradient: Batch, needed: [Bool]) -> [Batch?] {
        let a = sampleAxis(rank: inputs[0].shape.count - 1)!
        let outer = output.shape.prefix(a + 1).reduce(1, *)
        let chunks = inputs.map { $0.shape[a + 1] * inner($0.shape, a) }
        let total = chunks.reduce(0, +)
        var offset = 0
        return inputs.indices.map { index -> Batch? in
            defer { offset += chunks[index] }
            guard needed[index] else { return nil }
            let (chunk, start) = (chunks[index], offset)
            var back = [Float](repeating: 0, count: outer * chunk)
            gradient.values.withUnsafeBufferPointer { g in
                back.withUnsafeMutableBufferPointer { b in
                    for block in 0..<outer {
                        for j in 0..<chunk { b[block &* chunk &+ j] = g[block &* total &+ start &+ j] }
                    }
                }
            }
            return Batch(values: back, shape: inputs[index].shape)
        }
    }
}
