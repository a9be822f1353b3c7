import Testing
@testable import Engine

/// Max pooling's backward pass, eight channels at a time in vector registers plus a scalar tail,
/// against the rule written out as a search: each window's gradient goes to the first tap (row by
/// row) that holds the maximum, as TensorFlow routes it, also when taps tie.
@Suite struct PoolingTests {
    @Test(arguments: [1, 8, 11, 16]) func maxPoolingRoutesToTheFirstMaximum(channels: Int) {
        let (n, height, width) = (2, 5, 4)
        // Values from a small set, so that windows often tie (as ReLU zeros do).
        var state: UInt32 = 12345
        func next() -> Float { state = state &* 1_103_515_245 &+ 12345; return Float((state >> 16) % 3) }
        let input = (0..<(n * height * width * channels)).map { _ in next() }
        let pool = Pooling2D(name: "pool", kind: .max, size: (2, 2), strides: (2, 2), samePadding: true)
        let output = pool.forward(Batch(values: input, shape: [n, height, width, channels]))
        #expect(output.shape == [n, 3, 2, channels])
        let gradient = (0..<output.values.count).map { Float($0 % 7) + 0.5 }
        var sink = GradientSink(mode: .exact)
        let back = pool.backward(input: Batch(values: input, shape: [n, height, width, channels]), output: output,
                                 gradient: Batch(values: gradient, shape: output.shape), fusedSoftmax: false, inputGradient: true,
                                 into: &sink)?.values
        var expected = [Float](repeating: 0, count: input.count)
        for s in 0..<n {
            for oy in 0..<3 {
                for ox in 0..<2 {
                    for c in 0..<channels {
                        let o = ((s * 3 + oy) * 2 + ox) * channels + c
                        var taps: [Int] = []
                        for y in (oy * 2)..<min(oy * 2 + 2, height) {
                            for x in (ox * 2)..<min(ox * 2 + 2, width) { taps.append(((s * height + y) * width + x) * channels + c) }
                        }
                        let peak = taps.map { input[$0] }.max()!
                        #expect(output.values[o] == peak)
                        expected[taps.first { input[$0] == peak }!] += gradient[o]
                    }
                }
            }
        }
        #expect(back == expected)
    }
}
