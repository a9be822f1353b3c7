import Foundation
import Testing
import Checkpoint
@testable import Engine

/// Recurrent models against Keras' predictions and JAX's Fisher diagonals (Fixtures/graph,
/// make_graph_fixtures.py), and real ones against Keras' predictions (Fixtures/thirdparty,
/// make_thirdparty_fixtures.py): Keras 3's Embedding → LSTM → Dense, and ethnicolr's Keras 2.5
/// Embedding → LSTM(128) → Dense trained on census surnames.
@Suite struct RecurrentTests {
    /// LSTM; SimpleRNN returning sequences into a GRU that goes backwards; Bidirectional LSTM,
    /// GRU and SimpleRNN merged by concatenation, product and mean.
    @Test(arguments: [("lstm_text", 6), ("gru_text", 9), ("bidirectional_text", 21)].flatMap { [($0.0 + ".h5", $0.1), ($0.0 + ".keras", $0.1)] })
    func recurrentModelsAgreeWithKerasAndJAX(file: String, tensors: Int) throws {
        let data = String(file.prefix { $0 != "." }) + "_data.h5"
        GraphTests.expectAgrees(try GraphTests.agreement(model: file, data: data), tensors: tensors)
    }

    /// Keras 2's CuDNNLSTM, in a Bidirectional and going backwards, run as an LSTM on its weights'
    /// LSTM form: predictions as Keras 2's LSTM twin that loaded the file gives them, and the Fisher
    /// diagonals in the file's layout (8 × units biases), from TensorFlow (make_cudnn_fixture.py).
    @Test func cudnnLSTMRunsAsKeras2LoadsIt() throws {
        GraphTests.expectAgrees(try GraphTests.agreement(model: "cudnn_text.h5", data: "cudnn_text_data.h5"), tensors: 12)
    }

    /// The backward pass from the steps the forward kept (`forwardAll(_:keeping:)`) equals the one
    /// that runs each recurrent layer's forward again, bit for bit: the activations (a forward
    /// alone keeps one step's state, overwritten step by step), every parameter's gradient
    /// contributions, and each recurrent layer's input gradient.
    @Test(arguments: ["lstm_text.h5", "gru_text.h5", "bidirectional_text.h5"])
    func backwardFromKeptStepsEqualsRecomputed(file: String) throws {
        let network = try ForwardTests.network("graph/" + file)
        let data = ForwardTests.path("graph/" + String(file.prefix { $0 != "." }) + "_data.h5")
        let samples = 32
        let input = Batch(values: try HDF5ArrayFile(path: data).readRows("x", 0..<samples), shape: [samples] + network.inputShape)
        // Any output gradient serves: the backward pass is linear in it.
        let delta = (0..<(samples * network.classes)).map { Float(($0 * 7919) % 23) / 23 - 0.5 }
        let recomputed = network.forwardAll(input)
        var plain = GradientSink(mode: .batch(samples))
        network.backpropagate(recomputed, outputGradient: delta, into: &plain)
        let (activations, kept) = network.forwardAll(input, keeping: true)
        #expect(kept.contains { $0 != nil })
        var fromKept = GradientSink(mode: .batch(samples))
        network.backpropagate(activations, kept: kept, outputGradient: delta, into: &fromKept)
        #expect(activations == recomputed)
        #expect(!plain.contributions.isEmpty && fromKept.contributions == plain.contributions)
        var layers = 0
        for (index, node) in network.nodes.enumerated() {
            guard case .layer(let layer) = node.operation, let memo = kept[index] else { continue }
            let (below, output) = (activations[node.inputs[0]], activations[index + 1])
            let gradient = Batch(values: output.values.indices.map { Float($0 % 5) - 2 }, shape: output.shape)
            var a = GradientSink(mode: .batch(samples)), b = GradientSink(mode: .batch(samples))
            let again = layer.backward(input: below, output: output, gradient: gradient, fusedSoftmax: false, inputGradient: true, into: &a)
            let reused = layer.backward(input: below, output: output, gradient: gradient, fusedSoftmax: false, inputGradient: true,
                                        kept: memo, into: &b)
            #expect(again != nil && again == reused, "\(layer.name)")
            #expect(a.contributions == b.contributions, "\(layer.name)")
            layers += 1
        }
        #expect(layers >= 1)
    }

    @Test(arguments: [("thirdparty/lstm_post.h5", "thirdparty/lstm_inputs.h5:x,y", "probs_post", 64),
                      ("thirdparty/ethnicolr_census2000_ln_lstm.h5", "thirdparty/ethnicolr_inputs.h5:x,y", "probs", 64)])
    func lstmPredictsAsKeras(model: String, data: String, reference: String, samples: Int) throws {
        let network = try ForwardTests.network(model)
        let runner = try NetworkRunner(network: network, data: DataSource.open(ForwardTests.path(data)), scale: 1)
        let (outputs, _) = try runner.predictions(Split(name: "some", indices: Array(0..<samples)))
        let expected = try HDF5ArrayFile(path: ForwardTests.path(String(data.prefix { $0 != ":" }))).readRows(reference, 0..<samples)
        let worst = zip(outputs, expected).map { Double(abs($0 - $1) / max($1, 1e-6)) }.max() ?? .infinity
        #expect(worst <= 1e-4, "worst relative difference \(worst)")
        if ProcessInfo.processInfo.environment["CKPTFORGET_REPORT_AGREEMENT"] != nil { print("[agreement] \(model): probabilities \(worst)") }
    }
}

extension RecurrentTests {
    /// A cell whose `activation` has a derivative that takes its input (softplus′(x) = σ(x), where
    /// the output alone would give σ(softplus(x))) keeps its pre-activations for the backward pass;
    /// with sigmoid and tanh the trace goes without them. Either way the bias gradient of
    /// L = Σ g · output equals central differences of the forward (ε = 0.01), per cell.
    @Test(arguments: [(Recurrent.Cell.lstm, ActivationFunction.softplus), (.lstm, .tanh), (.simple, .softplus), (.gru, .softplus)])
    func biasGradientEqualsDifferencesOfTheForward(cell: Recurrent.Cell, activation: ActivationFunction) {
        let (features, units, steps, samples) = (3, 4, 5, 2)
        let gates = cell == .lstm ? 4 : cell == .gru ? 3 : 1
        let width = gates * units, biasCount = (cell == .gru ? 2 : 1) * width
        func values(_ count: Int, _ seed: Int) -> [Float] { (0..<count).map { Float((($0 + seed) * 7919) % 41) / 41 - 0.5 } }
        func layer(bias: [Float]) -> Recurrent {
            Recurrent(name: "r", cell: cell, kernel: values(features * width, 1).map { $0 * 2 }, recurrentKernel: values(units * width, 2),
                      bias: bias, features: features, units: units, activation: activation, recurrentActivation: .sigmoid,
                      returnSequences: true, goBackwards: false, kernelName: "k", recurrentName: "rk", biasName: "b",
                      biasShape: cell == .gru ? [2, width] : [width])
        }
        #expect(layer(bias: []).keepsPreActivations == (cell == .gru || activation == .softplus))
        let bias = values(biasCount, 3)
        let input = Batch(values: values(samples * steps * features, 4).map { $0 * 3 }, shape: [samples, steps, features])
        let g = values(samples * steps * units, 5)
        func loss(_ bias: [Float]) -> Double {
            zip(layer(bias: bias).forward(input).values, g).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let recurrent = layer(bias: bias)
        let (output, kept) = recurrent.forwardKeeping(input)
        var sink = GradientSink(mode: .batch(samples))
        _ = recurrent.backward(input: input, output: output, gradient: Batch(values: g, shape: output.shape), fusedSoftmax: false,
                               inputGradient: false, kept: kept, into: &sink)
        let gradient = sink.contributions["b"] ?? []
        #expect(gradient.count == biasCount)
        let peak = gradient.map { abs(Double($0)) }.max() ?? 0
        #expect(peak > 0.01)
        let epsilon: Float = 0.01
        for j in 0..<min(gradient.count, biasCount) {
            var (up, down) = (bias, bias)
            up[j] += epsilon
            down[j] -= epsilon
            // The batch-mode contribution is the gradient of the mean over the samples.
            let difference = (loss(up) - loss(down)) / Double(2 * epsilon) / Double(samples)
            #expect(abs(difference - Double(gradient[j])) <= 2e-3 * peak, "b[\(j)]: \(gradient[j]) against \(difference)")
        }
    }
}
