import Testing
@testable import Engine

/// Pooling forward and backward against the rules written out plainly: windows placed as
/// TensorFlow places them ("same": out = ⌈in / stride⌉, padding split with the smaller half
/// before), a max-pooled window's gradient to its first tap (row by row) that holds the maximum,
/// also when taps tie, an average's shared among the taps inside the input. Max pooling runs
/// eight channels at a time plus a scalar tail, so the channel counts cover both.
@Suite struct PoolingTests {
    struct Case: Sendable, CustomStringConvertible {
        let kind: Pooling2D.Kind, size: Int, stride: Int, same: Bool, channels: Int
        var description: String { "\(kind) \(size)×\(size)/\(stride) \(same ? "same" : "valid") c\(channels)" }
    }

    static let cases: [Case] = [1, 8, 11, 16].map { Case(kind: .max, size: 2, stride: 2, same: true, channels: $0) } + [
        Case(kind: .max, size: 3, stride: 1, same: true, channels: 11),  // windows clipped on every side
        Case(kind: .max, size: 3, stride: 2, same: false, channels: 9),
        Case(kind: .average, size: 3, stride: 1, same: true, channels: 3),
        Case(kind: .average, size: 2, stride: 2, same: true, channels: 5),
    ]

    @Test(arguments: cases) func matchesTheRules(_ c: Case) {
        let (n, height, width, channels) = (2, 5, 4, c.channels)
        // Values from a small set, so that windows often tie (as ReLU zeros do).
        var state: UInt32 = 12345
        func next() -> Float { state = state &* 1_103_515_245 &+ 12345; return Float((state >> 16) % 3) }
        let input = (0..<(n * height * width * channels)).map { _ in next() }
        let pool = Pooling2D(name: "pool", kind: c.kind, size: (c.size, c.size), strides: (c.stride, c.stride), samePadding: c.same)
        // Geometry as TensorFlow computes it.
        func axis(_ size: Int) -> (out: Int, before: Int) {
            guard c.same else { return ((size - c.size) / c.stride + 1, 0) }
            let out = (size + c.stride - 1) / c.stride
            return (out, max((out - 1) * c.stride + c.size - size, 0) / 2)
        }
        let (rows, cols) = (axis(height), axis(width))
        let output = pool.forward(Batch(values: input, shape: [n, height, width, channels]))
        #expect(output.shape == [n, rows.out, cols.out, channels])
        let gradient = (0..<output.values.count).map { Float($0 % 7) + 0.5 }
        var sink = GradientSink(mode: .exact)
        let back = pool.backward(input: Batch(values: input, shape: [n, height, width, channels]), output: output,
                                 gradient: Batch(values: gradient, shape: output.shape), fusedSoftmax: false, inputGradient: true,
                                 into: &sink)?.values
        var expected = [Float](repeating: 0, count: input.count)
        for s in 0..<n {
            for oy in 0..<rows.out {
                for ox in 0..<cols.out {
                    for ch in 0..<channels {
                        let o = ((s * rows.out + oy) * cols.out + ox) * channels + ch
                        var taps: [Int] = []
                        for y in (oy * c.stride - rows.before)..<(oy * c.stride - rows.before + c.size) where (0..<height).contains(y) {
                            for x in (ox * c.stride - cols.before)..<(ox * c.stride - cols.before + c.size) where (0..<width).contains(x) {
                                taps.append(((s * height + y) * width + x) * channels + ch)
                            }
                        }
                        switch c.kind {
                        case .max:
                            let peak = taps.map { input[$0] }.max()!
                            #expect(output.values[o] == peak)
                            expected[taps.first { input[$0] == peak }!] += gradient[o]
                        case .average:
                            #expect(abs(output.values[o] - taps.map { input[$0] }.reduce(0, +) / Float(taps.count)) < 1e-6)
                            for tap in taps { expected[tap] += gradient[o] / Float(taps.count) }
                        }
                    }
                }
            }
        }
        let worst = zip(back ?? [], expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(back?.count == expected.count && worst < 1e-5, "worst difference \(worst)")
    }
}
