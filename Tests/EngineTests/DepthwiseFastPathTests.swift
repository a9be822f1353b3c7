import Testing
@testable import Engine

/// DepthwiseConv2D's multiplier-1 loops against its general ones, bit for bit, forward and both
/// gradients, on random data with zeros of both signs, padding and strides.
@Suite struct DepthwiseFastPathTests {
    static func random(_ count: Int, _ generator: inout SplitMix64) -> [Float] {
        (0..<count).map { _ in
            let u = generator.nextUnit()
            return u < 0.05 ? 0 : u < 0.1 ? -0.0 : Float(generator.nextGaussian())
        }
    }

    @Test(arguments: [(false, 1, 1), (true, 1, 1), (true, 2, 2), (false, 2, 1), (true, 1, 2)])
    func multiplierOneMatchesTheGeneralLoop(same: Bool, strideY: Int, strideX: Int) {
        var generator = SplitMix64(seed: 19)
        let (channels, kh, kw) = (11, 3, 3)
        let layer = DepthwiseConv2D(name: "d", kernel: Self.random(kh * kw * channels, &generator), bias: Self.random(channels, &generator),
                                    kernelHeight: kh, kernelWidth: kw, channels: channels, multiplier: 1, strides: (strideY, strideX),
                                    samePadding: same, activation: .linear, kernelName: "k", biasName: "b")
        let input = Batch(values: Self.random(2 * 7 * 6 * channels, &generator), shape: [2, 7, 6, channels])
        let fast = layer.linear(input), general = layer.linear(input, general: true)
        #expect(fast.map(\.bitPattern) == general.map(\.bitPattern))
        let delta = Self.random(fast.count, &generator)
        let (fastGradients, generalGradients) = (layer.gradients(input: input, delta: delta, inputGradient: true),
                                                 layer.gradients(input: input, delta: delta, inputGradient: true, general: true))
        #expect(fastGradients.kernel.map(\.bitPattern) == generalGradients.kernel.map(\.bitPattern))
        #expect(fastGradients.input.map(\.bitPattern) == generalGradients.input.map(\.bitPattern))
        #expect(fastGradients.input.count == input.values.count)
    }
}
