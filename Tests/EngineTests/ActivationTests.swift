import Foundation
import Testing
import Checkpoint
@testable import Engine

/// Every activation against Keras 3's own (Fixtures/graph/activations.h5: keras.activations on a
/// float64 grid over [−7, 7] and around each kink, derivatives by jax.grad).
@Suite struct ActivationTests {
    static let names = ["linear", "relu", "relu6", "sigmoid", "tanh", "elu", "selu", "gelu", "softplus", "softsign", "exponential",
                        "leaky_relu", "silu", "hard_sigmoid", "hard_silu"]

    static func reference(_ dataset: String) throws -> [Double] {
        let file = try openCheckpoint(ForwardTests.path("graph/activations.h5"))
        let values = try file.read(try #require(file.tensor(named: dataset), "\(dataset)")).values
        return values.indices.map { values[$0] }
    }

    @Test(arguments: names) func valuesAndDerivativesMatchKeras(name: String) throws {
        let function = try ActivationFunction(keras: name, layer: "l", path: "p")
        let (x, y, dy) = (try Self.reference("\(name)/x"), try Self.reference("\(name)/y"), try Self.reference("\(name)/dy"))
        var values = x.map(Float.init)
        let inputs = values
        function.apply(&values, classes: 1)
        var gradient = [Float](repeating: 1, count: x.count)
        function.backpropagate(&gradient, output: values, input: inputs, classes: 1)
        for i in x.indices {
            #expect(abs(Double(values[i]) - y[i]) <= 1e-6 * max(abs(y[i]), 1), "\(name)(\(x[i])) = \(values[i]), Keras \(y[i])")
            #expect(abs(Double(gradient[i]) - dy[i]) <= 1e-5 * max(abs(dy[i]), 1), "\(name)'(\(x[i])) = \(gradient[i]), JAX \(dy[i])")
        }
    }

    @Test func softmaxMatchesKeras() throws {
        let (x, y) = (try Self.reference("softmax/x"), try Self.reference("softmax/y"))
        var values = x.map(Float.init)
        ActivationFunction.softmax.apply(&values, classes: 5)
        for i in x.indices { #expect(abs(Double(values[i]) - y[i]) <= 1e-6 * max(y[i], 1e-3)) }
    }

    /// Keras' other names for two of them, Keras 2's hard sigmoid (clip(0.2·x + 0.5, 0, 1), before
    /// Keras 3 made it relu6(x + 3) / 6), and a name no Keras has.
    @Test func kerasNames() throws {
        #expect(try ActivationFunction(keras: "swish", layer: "l", path: "p") == .silu)
        #expect(try ActivationFunction(keras: "hard_swish", layer: "l", path: "p") == .hardSilu)
        let old = try ActivationFunction(keras: "hard_sigmoid", layer: "l", path: "p", keras2: true)
        #expect(old == .keras2HardSigmoid && old.value(0) == 0.5 && abs(old.value(1) - 0.7) < 1e-7 && old.value(3) == 1 && old.value(-3) == 0)
        #expect(old.derivative(0, 0.5) == 0.2 && old.derivative(3, 1) == 0)
        #expect(throws: EngineError.unsupportedOption(path: "p", layer: "l", option: "activation 'mish'")) {
            try ActivationFunction(keras: "mish", layer: "l", path: "p")
        }
    }
}
