import Testing
@testable import Engine

/// Products that skip the columns zero in every row must equal the full products.
@Suite struct LiveColumnsTests {
    /// 3 rows × 8 columns; columns 0, 3, 4 and 7 are zero in every row (−0 counts as zero, NaN does not).
    private let matrix: [Float] = [
        0, 1, 2, 0, 0, 3, .nan, -0.0,
        0, 0, 4, 0, 0, 0, 0, 0,
        -0.0, 5, 0, 0, 0, 6, 0, 0,
    ]

    @Test func findsRunsOfLiveColumns() throws {
        let live = try #require(LiveColumns(matrix, width: 8))
        #expect(live.runs.map { [$0.start, $0.count] } == [[1, 2], [5, 2]])
        #expect(live.count == 4)
        #expect(live.columns(of: (0..<24).map { Float($0) }) == [1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22])
        let kernel = (0..<16).map { Float($0) }  // 8 × 2
        #expect(live.rows(of: kernel, columns: 2) == [2, 3, 4, 5, 10, 11, 12, 13])
        var target = [Float](repeating: 1, count: 16)
        target.withUnsafeMutableBufferPointer { live.addRows([10, 20, 30, 40, 50, 60, 70, 80], into: $0, columns: 2) }
        #expect(target == [1, 1, 11, 21, 31, 41, 1, 1, 1, 1, 51, 61, 71, 81, 1, 1])
    }

    @Test func declinesWhenTooFewColumnsAreZero() {
        let dense: [Float] = [1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]  // one of 16 zero: less than an eighth
        #expect(LiveColumns(dense, width: 16) == nil)
        #expect(LiveColumns([Float](repeating: 0, count: 16), width: 16)?.count == 0)
    }

    /// A Dense layer and its exact Fisher contribution on inputs with blank columns, against the
    /// definitions computed by hand-written loops.
    @Test func denseForwardAndFisherMatchTheDefinitions() {
        let (n, k, f) = (4, 16, 3)
        var x = [Float](repeating: 0, count: n * k)
        for s in 0..<n { for j in [2, 3, 4, 9, 10] { x[s * k + j] = Float(s + 1) * 0.25 - Float(j) * 0.01 } }
        let kernel = (0..<(k * f)).map { Float(($0 * 7) % 11) / 10 - 0.5 }
        let dense = Dense(name: "d", kernel: kernel, bias: nil, inputs: k, units: f, activation: .linear, kernelName: "w", biasName: nil)
        let y = dense.forward(Batch(values: x, shape: [n, k])).values
        let deltas = (0..<(n * f)).map { Float($0 % 5) / 4 - 0.5 }
        var sink = GradientSink(mode: .exact)
        sink.addOuter("w", inputs: x, deltas: deltas, n: n, k: k, f: f)
        let fisher = sink.contributions["w"]!
        for s in 0..<n {
            for u in 0..<f {
                var sum: Float = 0
                for j in 0..<k { sum += x[s * k + j] * kernel[j * f + u] }
                #expect(abs(y[s * f + u] - sum) < 1e-6)
            }
        }
        for j in 0..<k {
            for u in 0..<f {
                var sum: Float = 0
                for s in 0..<n { sum += (x[s * k + j] * deltas[s * f + u]) * (x[s * k + j] * deltas[s * f + u]) }
                #expect(abs(fisher[j * f + u] - sum) < 1e-6)
            }
        }
    }

    /// 0 · ∞ is NaN: with an infinite weight or a NaN delta nothing is skipped, as the full
    /// products would give.
    @Test func nonFiniteValuesAreNotSkipped() {
        let (n, k, f) = (3, 16, 2)
        var x = [Float](repeating: 0, count: n * k)
        for s in 0..<n { x[s * k + 5] = Float(s + 1) }  // only column 5 is live
        var kernel = [Float](repeating: 0.5, count: k * f)
        kernel[0 * f + 1] = .infinity  // row 0, unit 1: input column 0 is zero throughout
        let dense = Dense(name: "d", kernel: kernel, bias: nil, inputs: k, units: f, activation: .linear, kernelName: "w", biasName: nil)
        let y = dense.forward(Batch(values: x, shape: [n, k])).values
        for s in 0..<n {
            #expect(y[s * f] == Float(s + 1) * 0.5)
            #expect(y[s * f + 1].isNaN)
        }
        var deltas = [Float](repeating: 1, count: n * f)
        deltas[1 * f + 0] = .nan
        var sink = GradientSink(mode: .exact)
        sink.addOuter("w", inputs: x, deltas: deltas, n: n, k: k, f: f)
        let fisher = sink.contributions["w"]!
        #expect(fisher[0 * f + 0].isNaN && fisher[0 * f + 1] == 0)  // a zero column against the NaN delta
    }
}
