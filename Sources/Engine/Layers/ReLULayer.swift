/// Keras ReLU (`max_value`, `negative_slope`, `threshold`) and LeakyReLU (a slope alone), as
/// Keras 3 computes them: x where x > θ (θ = 0: max(x, 0)), clipped to [0, max] when a max is
/// set, minus slope · max(θ − x, 0); with a slope alone, x ≥ 0 ? x : slope · x.
struct ReLULayer: Layer {
    let name: String
    let maxValue: Float?
    let negativeSlope: Float
    let threshold: Float

    func outputShape(for input: [Int], path: String) throws -> [Int] { input }

    private var isLeaky: Bool { negativeSlope != 0 && maxValue == nil && threshold == 0 }

    /// The value before the slope is applied below the threshold.
    @inline(__always) private func kept(_ x: Float) -> Float {
        let passed = threshold != 0 ? (x > threshold ? x : 0) : Swift.max(x, 0)
        return maxValue.map { Swift.min(Swift.max(passed, 0), $0) } ?? passed
    }

    @inline(__always) func value(_ x: Float) -> Float {
        if isLeaky { return x >= 0 ? x : negativeSlope * x }
        let below = threshold - x
        return kept(x) - (negativeSlope != 0 && below > 0 ? negativeSlope * below : 0)
    }

    @inline(__always) func derivative(_ x: Float) -> Float {
        if isLeaky { return x >= 0 ? 1 : negativeSlope }
        let passed = threshold != 0 ? (x > threshold ? x : 0) : Swift.max(x, 0)
        var slope: Float = x > threshold ? 1 : 0
        if let maxValue, !(passed > 0 && passed < maxValue) { slope = 0 }
        if negativeSlope != 0, threshold - x > 0 { slope += negativeSlope }
        return slope
    }

    /// ReLU and ReLU6 (no threshold, no slope), MobileNet's activations: `value` without the
    /// branches that kept the loop from vectorising, with the same results bit for bit.
    private var isPlain: Bool { threshold == 0 && negativeSlope == 0 }

    func forward(_ input: Batch) -> Batch {
        var values = input.values
        values.withUnsafeMutableBufferPointer { v in
            switch (isPlain, maxValue) {
            case (true, let top?): for i in v.indices { v[i] = Swift.min(Swift.max(v[i], 0), top) }
            case (true, nil): for i in v.indices { v[i] = Swift.max(v[i], 0) }
            default: for i in v.indices { v[i] = value(v[i]) }
            }
        }
        return Batch(values: values, shape: input.shape)
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        guard inputGradient else { return nil }
        var delta = gradient.values
        input.values.withUnsafeBufferPointer { x in
            delta.withUnsafeMutableBufferPointer { g in
                switch (isPlain, maxValue) {
                case (true, let top?): for i in g.indices { g[i] *= x[i] > 0 && x[i] < top ? 1 : 0 }
                case (true, nil): for i in g.indices { g[i] *= x[i] > 0 ? 1 : 0 }
                default: for i in g.indices { g[i] *= derivative(x[i]) }
                }
            }
        }
        return Batch(values: delta, shape: input.shape)
    }
}
