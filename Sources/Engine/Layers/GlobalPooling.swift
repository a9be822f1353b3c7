/// Keras GlobalAveragePooling1D/2D and GlobalMaxPooling1D/2D (channels last): each channel's mean
/// or maximum over every position of a sample; with `keepdims` the pooled axes stay, of size 1.
struct GlobalPooling: Layer {
    enum Kind: Sendable { case average, max }

    let name: String
    let kind: Kind
    /// Positions' axes: 1 (sequences) or 2 (images).
    let rank: Int
    let keepDims: Bool

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        guard input.count == rank + 1 else {
            throw EngineError.shapeMismatch(path: path, layer: name, expected: [Int](repeating: -1, count: rank + 1), actual: input)
        }
        return (keepDims ? [Int](repeating: 1, count: rank) : []) + [input[rank]]
    }

    func forward(_ input: Batch) -> Batch {
        let channels = input.shape.last!
        let positions = input.width / channels
        var out = [Float](repeating: 0, count: input.samples * channels)
        if positions > 0 { input.values.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                for s in 0..<input.samples {
                    let first = s &* positions &* channels
                    for c in 0..<channels { y[s &* channels &+ c] = x[first &+ c] }
                    for p in 1..<Swift.max(positions, 1) {
                        let row = first &+ p &* channels
                        for c in 0..<channels {
                            let o = s &* channels &+ c
                            y[o] = kind == .max ? Swift.max(y[o], x[row &+ c]) : y[o] + x[row &+ c]
                        }
                    }
                    if kind == .average { for c in 0..<channels { y[s &* channels &+ c] /= Float(positions) } }
                }
            }
        } }
        return Batch(values: out, shape: [input.samples] + (keepDims ? [Int](repeating: 1, count: rank) : []) + [channels])
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        guard inputGradient else { return nil }
        let channels = input.shape.last!
        let positions = input.width / channels
        var back = [Float](repeating: 0, count: input.values.count)
        back.withUnsafeMutableBufferPointer { b in
            input.values.withUnsafeBufferPointer { x in
                gradient.values.withUnsafeBufferPointer { g in
                    output.values.withUnsafeBufferPointer { y in
                        for s in 0..<input.samples {
                            let first = s &* positions &* channels
                            for c in 0..<channels {
                                let o = s &* channels &+ c
                                switch kind {
                                case .average:
                                    let share = g[o] / Float(positions)
                                    for p in 0..<positions { b[first &+ p &* channels &+ c] = share }
                                case .max:
                                    // To the first position that holds the maximum.
                                    for p in 0..<positions where x[first &+ p &* channels &+ c] == y[o] {
                                        b[first &+ p &* channels &+ c] = g[o]
                                        break
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Batch(values: back, shape: input.shape)
    }
}
