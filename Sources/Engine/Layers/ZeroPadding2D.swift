/// Keras ZeroPadding2D (channels last): rows of zeros above and below, columns left and right.
struct ZeroPadding2D: Layer {
    let name: String
    let top: Int, bottom: Int, left: Int, right: Int

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        guard input.count == 3 else { throw EngineError.shapeMismatch(path: path, layer: name, expected: [-1, -1, -1], actual: input) }
        let (rows, overflowRows) = input[0].addingReportingOverflow(top &+ bottom)
        let (columns, overflowColumns) = input[1].addingReportingOverflow(left &+ right)
        guard !overflowRows, !overflowColumns, top <= Int.max / 4, bottom <= Int.max / 4, left <= Int.max / 4, right <= Int.max / 4 else {
            throw EngineError.unsupportedOption(path: path, layer: name, option: "padding (\(top), \(bottom)), (\(left), \(right))")
        }
        return [rows, columns, input[2]]
    }

    /// Calls `body(padded, original, count)` for every row of every sample: `count` values at
    /// offset `original` in the input sit at offset `padded` in the output.
    private func forEachRow(_ shape: [Int], _ body: (Int, Int, Int) -> Void) {
        let (n, height, width, channels) = (shape[0], shape[1], shape[2], shape[3])
        let (outHeight, outWidth) = (height + top + bottom, width + left + right)
        for s in 0..<n {
            for y in 0..<height {
                body(((s * outHeight + y + top) * outWidth + left) * channels, ((s * height + y) * width) * channels, width * channels)
            }
        }
    }

    func forward(_ input: Batch) -> Batch {
        let shape = [input.samples, input.shape[1] + top + bottom, input.shape[2] + left + right, input.shape[3]]
        var out = [Float](repeating: 0, count: shape.reduce(1, *))
        input.values.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                forEachRow(input.shape) { to, from, count in for i in 0..<count { y[to &+ i] = x[from &+ i] } }
            }
        }
        return Batch(values: out, shape: shape)
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        guard inputGradient else { return nil }
        var back = [Float](repeating: 0, count: input.values.count)
        gradient.values.withUnsafeBufferPointer { g in
            back.withUnsafeMutableBufferPointer { b in
                forEachRow(input.shape) { from, to, count in for i in 0..<count { b[to &+ i] = g[from &+ i] } }
            }
        }
        return Batch(values: back, shape: input.shape)
    }
}
