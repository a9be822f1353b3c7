import Testing
@testable import Engine

/// Keras 2's CuDNNLSTM weights in their LSTM form and back, worked by hand for 3 features and 2
/// units (the numbers numpy's `k.T.reshape(k.shape, order='F')` gives per gate, as Keras 2's
/// `_convert_rnn_weights` converts them), and gradients in the file's layout against central
/// differences of the forward, taken on the file's own values.
@Suite struct CuDNNWeightsTests {
    static let (features, units) = (3, 2)
    /// kernel[r][c] = 8r + c, recurrent[r][c] = 100 + 8r + c, bias[j] = j.
    static let file = CuDNNWeights(kernel: (0..<24).map(Float.init), recurrentKernel: (0..<16).map { Float(100 + $0) },
                                   bias: (0..<16).map(Float.init), features: features, units: units)

    @Test func lstmFormWorkedByHand() {
        let lstm = Self.file.lstm
        // Gate i's file block [[0, 1], [8, 9], [16, 17]], C order 0 1 8 9 16 17, read as 2 × 3 and
        // transposed: [[0, 9], [1, 16], [8, 17]]; gate f's [[2, 3], [10, 11], [18, 19]] the same way.
        let gateI = (0..<3).map { row in Array(lstm.kernel[(row * 8)..<(row * 8 + 2)]) }
        let gateF = (0..<3).map { row in Array(lstm.kernel[(row * 8 + 2)..<(row * 8 + 4)]) }
        #expect(gateI == [[0, 9], [1, 16], [8, 17]])
        #expect(gateF == [[2, 11], [3, 18], [10, 19]])
        // Recurrent gate i [[100, 101], [108, 109]] transposed; the bias halves added: j + (8 + j).
        #expect(Array(lstm.recurrentKernel[0..<2]) == [100, 108] && Array(lstm.recurrentKernel[8..<10]) == [101, 109])
        #expect(lstm.bias == (0..<8).map { Float(8 + 2 * $0) })
    }

    @Test func fileLayoutUndoesTheLSTMForm() {
        let lstm = Self.file.lstm
        #expect(Self.file.fileLayout(kernel: lstm.kernel) == Self.file.kernel)
        #expect(Self.file.fileLayout(recurrentKernel: lstm.recurrentKernel) == Self.file.recurrentKernel)
        #expect(Self.file.fileLayout(bias: [1, 2, 3, 4, 5, 6, 7, 8]) == [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8])
        // Every position once: a permutation.
        #expect(Set(CuDNNWeights.kernelPositions(features: 3, units: 2).map(\.0)).count == 24)
        #expect(Set(CuDNNWeights.kernelPositions(features: 3, units: 2).map(\.1)).count == 24)
    }

    /// L = Σ g · output of the layer over 4 steps and 2 samples; each gradient value of the kernel,
    /// the recurrent kernel and both halves of the bias against (L(w + ε) − L(w − ε)) / 2ε, with w
    /// the file's value, changed through `replacing` as an edit would change it.
    @Test func gradientsAreTheFilesOwn() {
        let (features, units, steps, samples) = (Self.features, Self.units, 4, 2)
        func values(_ count: Int, _ seed: Int, scale: Float) -> [Float] { (0..<count).map { Float((($0 + seed) * 7919) % 41) / 41 * scale - scale / 2 } }
        let file = CuDNNWeights(kernel: values(24, 1, scale: 1.2), recurrentKernel: values(16, 2, scale: 1), bias: values(16, 3, scale: 0.6),
                                features: features, units: units)
        let lstm = file.lstm
        let layer = Recurrent(name: "cu_dnnlstm", cell: .lstm, kernel: lstm.kernel, recurrentKernel: lstm.recurrentKernel, bias: lstm.bias,
                              features: features, units: units, activation: .tanh, recurrentActivation: .sigmoid, returnSequences: true,
                              goBackwards: false, kernelName: "k", recurrentName: "r", biasName: "b", biasShape: [16], cudnn: file)
        #expect(layer.weights == ["k": file.kernel, "r": file.recurrentKernel, "b": file.bias])
        let input = Batch(values: values(samples * steps * features, 4, scale: 3), shape: [samples, steps, features])
        let g = values(samples * steps * units, 5, scale: 1)
        var sink = GradientSink(mode: .batch(samples))
        let output = layer.forward(input)
        _ = layer.backward(input: input, output: output, gradient: Batch(values: g, shape: output.shape), fusedSoftmax: false,
                           inputGradient: false, into: &sink)
        func loss(_ name: String, _ tensor: [Float]) -> Double {
            zip(layer.with([name: tensor]).forward(input).values, g).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let epsilon: Float = 0.01
        for (name, tensor) in layer.weights.sorted(by: { $0.key < $1.key }) {
            let gradient = sink.contributions[name] ?? []
            #expect(gradient.count == tensor.count, "\(name)")
            let peak = gradient.map { abs(Double($0)) }.max() ?? 0
            #expect(peak > 0.01, "\(name)")
            for j in 0..<min(gradient.count, tensor.count) {
                var (up, down) = (tensor, tensor)
                up[j] += epsilon
                down[j] -= epsilon
                let difference = (loss(name, up) - loss(name, down)) / Double(2 * epsilon) / Double(samples)
                #expect(abs(difference - Double(gradient[j])) <= 2e-3 * peak, "\(name)[\(j)]: \(gradient[j]) against \(difference)")
            }
        }
    }
}
