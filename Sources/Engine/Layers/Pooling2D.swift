/// Keras MaxPooling2D and AveragePooling2D (channels last). With "same" padding an average covers
/// only the taps inside the input, as TensorFlow and Keras compute it.
struct Pooling2D: Layer {
    enum Kind: Sendable { case max, average }

    let name: String
    let kind: Kind
    let size: (Int, Int)
    let strides: (Int, Int)
    let samePadding: Bool

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        guard input.count == 3 else { throw EngineError.shapeMismatch(path: path, layer: name, expected: [-1, -1, -1], actual: input) }
        let rows = Conv2D.geometry(input: input[0], kernel: size.0, stride: strides.0, same: samePadding)
        let cols = Conv2D.geometry(input: input[1], kernel: size.1, stride: strides.1, same: samePadding)
        return [rows.size, cols.size, input[2]]
    }

    /// Calls `body(output-index, taps)` with the input indices each output element pools.
    private func forEachWindow(_ shape: [Int], _ body: (Int, [Int]) -> Void) {
        let (n, height, width, channels) = (shape[0], shape[1], shape[2], shape[3])
        let rows = Conv2D.geometry(input: height, kernel: size.0, stride: strides.0, same: samePadding)
        let cols = Conv2D.geometry(input: width, kernel: size.1, stride: strides.1, same: samePadding)
        var taps: [Int] = []
        taps.reserveCapacity(size.0 * size.1)
        for s in 0..<n {
            for oy in 0..<rows.size {
                for ox in 0..<cols.size {
                    for c in 0..<channels {
                        taps.removeAll(keepingCapacity: true)
                        for ky in 0..<size.0 {
                            let y = oy * strides.0 + ky - rows.padBefore
                            guard y >= 0, y < height else { continue }
                            for kx in 0..<size.1 {
                                let x = ox * strides.1 + kx - cols.padBefore
                                guard x >= 0, x < width else { continue }
                                taps.append(((s * height + y) * width + x) * channels + c)
                            }
                        }
                        body(((s * rows.size + oy) * cols.size + ox) * channels + c, taps)
                    }
                }
            }
        }
    }

    private func outputShape(_ input: Batch) -> [Int] {
        let rows = Conv2D.geometry(input: input.shape[1], kernel: size.0, stride: strides.0, same: samePadding)
        let cols = Conv2D.geometry(input: input.shape[2], kernel: size.1, stride: strides.1, same: samePadding)
        return [input.samples, rows.size, cols.size, input.shape[3]]
    }

    func forward(_ input: Batch) -> Batch {
        let shape = outputShape(input)
        var out = [Float](repeating: 0, count: shape.reduce(1, *))
        forEachWindow(input.shape) { index, taps in
            switch kind {
            case .max: out[index] = taps.map { input.values[$0] }.max() ?? 0
            case .average: out[index] = taps.isEmpty ? 0 : taps.reduce(0) { $0 + input.values[$1] } / Float(taps.count)
            }
        }
        return Batch(values: out, shape: shape)
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, into sink: inout GradientSink) -> Batch {
        var back = [Float](repeating: 0, count: input.values.count)
        forEachWindow(input.shape) { index, taps in
            switch kind {
            case .max:
                // The gradient goes to the first tap that holds the maximum (as TensorFlow routes it).
                if let winner = taps.first(where: { input.values[$0] == output.values[index] }) { back[winner] += gradient.values[index] }
            case .average:
                for tap in taps { back[tap] += gradient.values[index] / Float(taps.count) }
            }
        }
        return Batch(values: back, shape: input.shape)
    }
}
