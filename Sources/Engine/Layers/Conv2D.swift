/// Keras Conv2D (channels last, no dilation, no groups) as im2col + GEMM: every output position's
/// receptive field (kh · kw · c values, in the kernel's own (kh, kw, in) order) is a row, and the
/// kernel, stored (kh, kw, in, out), is already the (kh · kw · in) × out matrix.
struct Conv2D: Layer {
    let name: String
    let kernel: [Float]
    let bias: [Float]?
    let kernelHeight: Int, kernelWidth: Int, channels: Int, filters: Int
    let strides: (Int, Int)
    let samePadding: Bool
    let activation: ActivationFunction
    let kernelName: String, biasName: String?

    var parameters: [(name: String, shape: [Int])] {
        [(kernelName, [kernelHeight, kernelWidth, channels, filters])] + (biasName.map { [($0, [filters])] } ?? [])
    }

    var weights: [String: [Float]] {
        var weights = [kernelName: kernel]
        if let biasName, let bias { weights[biasName] = bias }
        return weights
    }

    func replacing(_ values: [String: [Float]]) -> any Layer { with(values) }

    /// `replacing` as a Conv2D.
    func with(_ values: [String: [Float]]) -> Conv2D {
        Conv2D(name: name, kernel: replaced(kernel, kernelName, in: values), bias: bias.map { replaced($0, biasName, in: values) },
               kernelHeight: kernelHeight, kernelWidth: kernelWidth, channels: channels, filters: filters, strides: strides,
               samePadding: samePadding, activation: activation, kernelName: kernelName, biasName: biasName)
    }

    var finalActivation: ActivationFunction { activation }

    func linearized() -> any Layer { withoutActivation() }

    func withoutActivation() -> Conv2D {
        Conv2D(name: name, kernel: kernel, bias: bias, kernelHeight: kernelHeight, kernelWidth: kernelWidth, channels: channels,
               filters: filters, strides: strides, samePadding: samePadding, activation: .linear, kernelName: kernelName, biasName: biasName)
    }

    func scratchFactors(for input: [Int]) -> [Int]? { patchFactors(for: input) }

    /// Values in one receptive field: a row of the im2col matrix.
    private var patch: Int { kernelHeight * kernelWidth * channels }

    /// Output size and leading padding along one axis, as TensorFlow and Keras compute them, for
    /// positive sizes (any, without overflow); 0 when a valid window does not fit in the input.
    static func geometry(input: Int, kernel: Int, stride: Int, same: Bool) -> (size: Int, padBefore: Int) {
        if same {
            let size = input / stride + (input % stride == 0 ? 0 : 1)
            let total = max(kernel - input + (size - 1) * stride, 0)
            return (size, total / 2)
        }
        return (input < kernel ? 0 : (input - kernel) / stride + 1, 0)
    }

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        guard input.count == 3, input[2] == channels else {
            throw EngineError.shapeMismatch(path: path, layer: name, expected: [-1, -1, channels], actual: input)
        }
        let rows = Self.geometry(input: input[0], kernel: kernelHeight, stride: strides.0, same: samePadding)
        let cols = Self.geometry(input: input[1], kernel: kernelWidth, stride: strides.1, same: samePadding)
        guard rows.size > 0, cols.size > 0 else {
            throw EngineError.shapeMismatch(path: path, layer: name, expected: [kernelHeight, kernelWidth, channels], actual: input)
        }
        return [rows.size, cols.size, filters]
    }

    /// The sizes of one sample's im2col matrix for an input shape (output rows, output columns,
    /// a patch's values), whose product `Network` counts with overflow checks.
    func patchFactors(for input: [Int]) -> [Int] {
        let rows = Self.geometry(input: input[0], kernel: kernelHeight, stride: strides.0, same: samePadding)
        let cols = Self.geometry(input: input[1], kernel: kernelWidth, stride: strides.1, same: samePadding)
        return [rows.size, cols.size, patch]
    }

    private struct Plan {
        let n, height, width, outHeight, outWidth, padTop, padLeft: Int
        var positions: Int { outHeight * outWidth }
    }

    private func plan(_ input: Batch) -> Plan {
        let rows = Self.geometry(input: input.shape[1], kernel: kernelHeight, stride: strides.0, same: samePadding)
        let cols = Self.geometry(input: input.shape[2], kernel: kernelWidth, stride: strides.1, same: samePadding)
        return Plan(n: input.samples, height: input.shape[1], width: input.shape[2], outHeight: rows.size, outWidth: cols.size,
                    padTop: rows.padBefore, padLeft: cols.padBefore)
    }

    /// Calls `body(column, input, count)` for every run of in-bounds taps: for one output position
    /// and one kernel row, the taps inside the input read `count` consecutive input values from
    /// offset `input` into the im2col matrix from offset `column`.
    private func forEachRun(_ p: Plan, _ body: (Int, Int, Int) -> Void) {
        let patch = patch
        for s in 0..<p.n {
            for oy in 0..<p.outHeight {
                let top = oy &* strides.0 &- p.padTop
                let firstRow = (s &* p.outHeight &+ oy) &* p.outWidth
                for ox in 0..<p.outWidth {
                    let row = (firstRow &+ ox) &* patch
                    let x0 = ox &* strides.1 &- p.padLeft
                    let (first, end) = (max(0, -x0), min(kernelWidth, p.width &- x0))
                    guard end > first else { continue }
                    let count = (end &- first) &* channels
                    for ky in 0..<kernelHeight {
                        let y = top &+ ky
                        guard y >= 0, y < p.height else { continue }
                        body(row &+ (ky &* kernelWidth &+ first) &* channels, ((s &* p.height &+ y) &* p.width &+ x0 &+ first) &* channels, count)
                    }
                }
            }
        }
    }

    /// The im2col matrix: (n · positions) × patch, zero where a tap falls in the padding.
    private func patches(_ input: Batch, _ p: Plan) -> [Float] {
        var columns = [Float](repeating: 0, count: p.n * p.positions * patch)
        input.values.withUnsafeBufferPointer { source in
            columns.withUnsafeMutableBufferPointer { target in
                forEachRun(p) { column, from, count in
                    // Runs are short (kernel width × channels: 3 values for a 3×3 kernel on grey
                    // images), too short for a memcpy call to pay.
                    for i in 0..<count { target[column &+ i] = source[from &+ i] }
                }
            }
        }
        return columns
    }

    /// The im2col rows times the kernel, plus the bias: the output before the activation.
    private func linear(_ columns: [Float], _ p: Plan) -> [Float] {
        var out = GEMM.product(columns, kernel, m: p.n * p.positions, n: filters, k: patch)
        if let bias { out.addRowwise(bias) }
        return out
    }

    func forward(_ input: Batch) -> Batch {
        let p = plan(input)
        var out = linear(patches(input, p), p)
        activation.apply(&out, classes: filters)
        return Batch(values: out, shape: [p.n, p.outHeight, p.outWidth, filters])
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        let p = plan(input)
        let columns = patches(input, p)
        var delta = gradient.values
        if !(fusedSoftmax && activation == .softmax) {
            activation.backpropagate(&delta, output: output.values, input: activation.derivativeNeedsInput ? linear(columns, p) : nil,
                                     classes: filters)
        }
        sink.addPositional(kernelName, inputs: columns, deltas: delta, n: p.n, positions: p.positions, k: patch, f: filters)
        if let biasName { sink.addPositionalSums(biasName, deltas: delta, n: p.n, positions: p.positions, f: filters) }
        guard inputGradient else { return nil }
        return Batch(values: self.inputGradient(delta, p), shape: input.shape)
    }

    /// dL/dinput: deltas · Wᵀ give each patch's gradient; scatter them back (col2im).
    private func inputGradient(_ delta: [Float], _ p: Plan) -> [Float] {
        let patchGradients = GEMM.product(delta, kernel, transposeB: true, m: p.n * p.positions, n: patch, k: filters)
        var back = [Float](repeating: 0, count: p.n * p.height * p.width * channels)
        patchGradients.withUnsafeBufferPointer { source in
            back.withUnsafeMutableBufferPointer { target in
                forEachRun(p) { column, to, count in
                    for i in 0..<count { target[to &+ i] += source[column &+ i] }
                }
            }
        }
        return back
    }
}
