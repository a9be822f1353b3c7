import Foundation
import Testing
import Checkpoint
@testable import Engine

/// Gradients of the training losses and optimizer steps against an independent reference
/// (Fixtures/engine/training_steps.h5: JAX in float64 from the written-out formulas, itself checked
/// against Keras' own train_on_batch to 1e-5; make_training_fixtures.py). Batch t is samples
/// 20t..20t+19 of test_data.h5, scaled by 1/255, in order.
@Suite struct TrainingTests {

    static let models: [(name: String, file: String, data: String)] = [
        ("mlp", "keras/mnist_mlp.h5", "engine/test_data.h5:x_flat,y"),
        ("cnn", "engine/mnist_cnn.h5", "engine/test_data.h5:x,y"),
    ]

    /// The network and batch `t`.
    static func setUp(_ model: String) throws -> (Network, (Int) throws -> (Batch, [Int])) {
        let entry = models.first { $0.name == model }!
        let network = try ForwardTests.network(entry.file)
        let data = try DataSource.open(ForwardTests.path(entry.data))
        let part = DataPart(data: data, split: Split(name: "all", indices: Array(0..<200)), scale: 1 / 255)
        return (network, { t in try part.samples(Array((20 * t)..<(20 * t + 20)), shape: network.inputShape) })
    }

    /// Every trainable tensor of `values` agrees with the reference group to `tolerance` of the
    /// reference tensor's largest magnitude.
    static func expectMatches(_ values: [String: [Float]], group: String, tolerance: Double = 1e-5,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reference = try openCheckpoint(ForwardTests.path("engine/training_steps.h5"))
        var compared = 0
        for (name, got) in values.sorted(by: { $0.key < $1.key }) {
            let info = try #require(reference.tensor(named: "\(group)/\(name)"), "\(group)/\(name)", sourceLocation: sourceLocation)
            let want = try reference.read(info).values
            #expect(want.count == got.count, sourceLocation: sourceLocation)
            let scale = want.indices.map { abs(want[$0]) }.max() ?? 0
            let worst = want.indices.map { abs(Double(got[$0]) - want[$0]) }.max() ?? 0
            #expect(worst <= tolerance * max(scale, 1e-12), "\(group)/\(name): max |Δ| \(worst) of max |w| \(scale)", sourceLocation: sourceLocation)
            compared += 1
        }
        #expect(compared >= 4, sourceLocation: sourceLocation)
    }

    static let losses: [(String, TrainingLoss)] = [
        ("ce", .crossEntropy), ("ascent", .negativeCrossEntropy), ("relabel", .relabelled([2: 3])), ("penalty", .classPenalty(2)),
    ]

    @Test(arguments: ["mlp", "cnn"]) func gradientsOfEachLoss(model: String) throws {
        let (network, batch) = try Self.setUp(model)
        let (x, y) = try batch(0)
        for (name, loss) in Self.losses {
            let gradient = try network.gradient(of: loss, batch: x, labels: y)
            #expect(Set(gradient.gradients.keys) == Set(network.parameters.map(\.name)))
            try Self.expectMatches(gradient.gradients, group: "\(model)/grad/\(name)")
        }
    }

    @Test(arguments: ["mlp", "cnn"]) func sgdWithMomentumOneAndTenSteps(model: String) throws {
        let (network, batch) = try Self.setUp(model)
        var trainer = try Trainer(network: network, training: network.parameters.map(\.name), optimizer: SGD(learningRate: 0.05, momentum: 0.9))
        for t in 0..<10 {
            let (x, y) = try batch(t)
            try trainer.step(.crossEntropy, batch: x, labels: y)
            if t == 0 { try Self.expectMatches(trainer.parameters, group: "\(model)/sgd1") }
        }
        try Self.expectMatches(trainer.parameters, group: "\(model)/sgd10")
        // The network trained is the network returned: its weights are the trained parameters.
        #expect(trainer.network.weights.filter { trainer.parameters[$0.key] != nil } == trainer.parameters)
    }

    @Test(arguments: ["mlp", "cnn"]) func adamOneAndTenSteps(model: String) throws {
        let (network, batch) = try Self.setUp(model)
        var trainer = try Trainer(network: network, training: network.parameters.map(\.name), optimizer: Adam(learningRate: 0.001))
        for t in 0..<10 {
            let (x, y) = try batch(t)
            try trainer.step(.crossEntropy, batch: x, labels: y)
            if t == 0 { try Self.expectMatches(trainer.parameters, group: "\(model)/adam1") }
        }
        try Self.expectMatches(trainer.parameters, group: "\(model)/adam10")
    }

    @Test(arguments: ["mlp", "cnn"]) func gradientAscentSteps(model: String) throws {
        let (network, batch) = try Self.setUp(model)
        var trainer = try Trainer(network: network, training: network.parameters.map(\.name), optimizer: SGD(learningRate: 0.05))
        for t in 0..<3 {
            let (x, y) = try batch(t)
            try trainer.step(.negativeCrossEntropy, batch: x, labels: y)
        }
        try Self.expectMatches(trainer.parameters, group: "\(model)/ascent_sgd3")
    }

    /// Two terms and a mask: one SGD step on cross-entropy plus half the class-2 penalty, with every
    /// other element of each tensor frozen, equals w − lr·(g_ce + ½·g_penalty) on the movable
    /// elements (gradients from the reference) and w on the frozen ones.
    @Test(arguments: ["mlp", "cnn"]) func weightedTermsAndMasksInOneStep(model: String) throws {
        let (network, batch) = try Self.setUp(model)
        let (x, y) = try batch(0)
        let masks = Dictionary(uniqueKeysWithValues: network.parameters.map { name, shape in
            (name, (0..<shape.reduce(1, *)).map { $0 % 2 == 0 })
        })
        var trainer = try Trainer(network: network, training: network.parameters.map(\.name), optimizer: SGD(learningRate: 0.05), masks: masks)
        try trainer.step([TrainingTerm(loss: .crossEntropy, batch: x, labels: y), TrainingTerm(loss: .classPenalty(2), batch: x, labels: y, weight: 0.5)])
        let reference = try openCheckpoint(ForwardTests.path("engine/training_steps.h5"))
        func values(_ group: String, _ name: String) throws -> TensorValues {
            try reference.read(try #require(reference.tensor(named: "\(model)/\(group)/\(name)"))).values
        }
        let weights = network.weights
        var expected: [String: [Float]] = [:]
        for (name, _) in network.parameters {
            let (ce, penalty) = (try values("grad/ce", name), try values("grad/penalty", name))
            expected[name] = weights[name]!.indices.map { i in
                masks[name]![i] ? Float(Double(weights[name]![i]) - 0.05 * (ce[i] + 0.5 * penalty[i])) : weights[name]![i]
            }
        }
        for (name, got) in trainer.parameters {
            let want = expected[name]!
            let scale = want.map { abs($0) }.max() ?? 0
            let worst = zip(got, want).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * max(scale, 1e-12), "\(name): \(worst)")
            #expect(zip(got, weights[name]!).enumerated().allSatisfy { masks[name]![$0.offset] || $0.element.0 == $0.element.1 }, "\(name): a frozen element moved")
        }
    }

    /// Frozen parameters stay as they were; moving statistics are never trained.
    @Test func onlyTheNamedParametersMove() throws {
        let (network, batch) = try Self.setUp("cnn")
        let trained = ["model_weights/fc/mnist_cnn/fc/kernel"]
        var trainer = try Trainer(network: network, training: trained, optimizer: SGD(learningRate: 0.05))
        let (x, y) = try batch(0)
        try trainer.step(.crossEntropy, batch: x, labels: y)
        let before = network.weights, after = trainer.network.weights
        for (name, values) in before where !trained.contains(name) { #expect(after[name] == values, "\(name) moved") }
        #expect(after[trained[0]] != before[trained[0]])
        #expect(throws: EngineError.unknownWeight(path: network.path, tensor: "model_weights/bn/mnist_cnn/bn/moving_mean")) {
            try Trainer(network: network, training: ["model_weights/bn/mnist_cnn/bn/moving_mean"], optimizer: SGD(learningRate: 1))
        }
    }

    /// The batch is cut into fixed pieces whatever the number of threads and summed in order: the
    /// gradient equals, bit for bit, the pieces computed one after another on this thread.
    @Test func gradientsDoNotDependOnThreads() throws {
        let (network, batch) = try Self.setUp("mlp")
        let (x0, y0) = try batch(0), (x1, y1) = try batch(1), (x2, y2) = try batch(2)
        let x = Batch(values: x0.values + x1.values + x2.values, shape: [60, 784]), y = y0 + y1 + y2
        let concurrent = try network.gradient(of: .crossEntropy, batch: x, labels: y)
        var serial: [String: [Double]] = [:]
        for start in stride(from: 0, to: 60, by: Network.gradientPiece) {
            let range = start..<min(start + Network.gradientPiece, 60)
            let piece = try network.gradient(of: .crossEntropy, batch: Batch(values: Array(x.values[(range.lowerBound * 784)..<(range.upperBound * 784)]),
                                                                              shape: [range.count, 784]), labels: Array(y[range]))
            for (name, g) in piece.gradients {
                serial[name, default: [Double](repeating: 0, count: g.count)] = zip(serial[name] ?? [Double](repeating: 0, count: g.count), g)
                    .map { $0 + Double(range.count) / 60 * Double($1) }
            }
        }
        for (name, g) in concurrent.gradients { #expect(g == serial[name]!.map(Float.init), "\(name)") }
        #expect(try network.gradient(of: .crossEntropy, batch: x, labels: y).gradients == concurrent.gradients)
    }
}
