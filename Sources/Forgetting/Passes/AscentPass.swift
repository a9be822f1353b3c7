import Checkpoint
import Engine

/// `ascent[:steps=N,lr=η,batch=B,optimizer=sgd|adam,momentum=M,retain=W,stop=forget_acc<=X,seed=S,shuffle=false]` —
/// gradient ascent on the forget data, the first-order path of full-parameter unlearning (Milner
/// 2024; θ ← θ + η·∇L_forget): each step moves every selected trainable tensor against the
/// cross-entropy's descent direction on a batch of forget samples (`negativeCrossEntropy`). With
/// `retain=W` a descent term on a retain batch is added (the "gradient difference" variant:
/// L = −CE_forget + W·CE_retain). With `stop=forget_acc<=X` it stops as soon as the forget split's
/// accuracy, measured every 10 steps and after the last, meets X. Batches are drawn in an order fixed
/// by the seed. A model pass: it needs data (`--data` with a target, or `--forget-data`).
struct AscentPass: ModelPass, TunablePass {
    static let name = "ascent"
    static let usage = "ascent[:steps=N|auto,lr=η,batch=B,optimizer=sgd|adam,momentum=M,retain=W,stop=forget_acc<=X,seed=S,shuffle=false]"
    static let summary = "gradient ascent on the forget data (runs the model; needs --data), optionally with a retain term and a stop"
    static let parameterNames = ["steps", "lr", "batch", "optimizer", "momentum", "retain", "stop", "seed", "shuffle"]

    /// How often (in steps) the stop condition is measured.
    static let checkInterval = 10

    var steps: Int
    let learningRate: Double, batch: Int, optimizer: String, momentum: Double, retain: Double
    let stopAccuracy: Double?, seed: UInt64, shuffle: Bool
    /// `steps=auto`: the run searches for the fewest steps that meet the policy.
    var autoSteps = false

    init(_ arguments: PassArguments) throws {
        autoSteps = arguments.isAuto("steps", positional: true)
        let steps = autoSteps ? 1 : try arguments.integer("steps", positional: true, default: 100)
        learningRate = try arguments.double("lr", default: 0.01, in: 0...Double.greatestFiniteMagnitude)
        let batch = try arguments.integer("batch", default: 32)
        optimizer = arguments.string("optimizer") ?? "sgd"
        momentum = try arguments.double("momentum", default: 0, in: 0...1)
        retain = try arguments.double("retain", default: 0, in: 0...Double.greatestFiniteMagnitude)
        seed = try arguments.integer("seed", default: 0)
        let spec = arguments.spec.text
        // Checked as read (UInt64), then converted: a count past Int.max would trap in Int(_:).
        guard steps >= 1, steps <= 1_000_000 else { throw PassError.badValue(spec: spec, key: "steps", value: "\(steps)", expected: "a number of steps from 1 to 1000000") }
        guard batch >= 1, batch <= 1 << 16 else { throw PassError.badValue(spec: spec, key: "batch", value: "\(batch)", expected: "a batch size from 1 to 65536") }
        (self.steps, self.batch) = (Int(steps), Int(batch))
        guard ["sgd", "adam"].contains(optimizer) else { throw PassError.badValue(spec: spec, key: "optimizer", value: optimizer, expected: "sgd or adam") }
        if optimizer == "adam", momentum != 0 { throw PassError.malformed(spec: spec, reason: "momentum applies to optimizer=sgd") }
        switch arguments.string("shuffle") {
        case nil, "true": shuffle = true
        case "false": shuffle = false
        case let other?: throw PassError.badValue(spec: spec, key: "shuffle", value: other, expected: "true or false")
        }
        if let stop = arguments.string("stop") {
            // `stop=forget_acc<=X` arrives as key "stop", value "forget_acc<=X".
            guard stop.hasPrefix("forget_acc<="), let bound = Double(stop.dropFirst("forget_acc<=".count)), (0...1).contains(bound) else {
                throw PassError.badValue(spec: spec, key: "stop", value: stop, expected: "forget_acc<=X with X from 0 to 1")
            }
            stopAccuracy = bound
        } else {
            stopAccuracy = nil
        }
    }

    var requirements: Set<PassRequirement> { retain > 0 ? [.data(.forget), .data(.retain)] : [.data(.forget)] }

    var search: StrengthScale? {
        autoSteps ? StrengthScale(parameter: "steps", grid: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], integral: true) : nil
    }

    func with(_ value: Double) throws -> any Pass {
        var pass = self
        pass.steps = Int(value)
        pass.autoSteps = false
        return pass
    }

    var parameters: [(name: String, value: String)] {
        [("steps", autoSteps ? "auto" : "\(steps)"), ("lr", "\(learningRate)"), ("batch", "\(batch)"), ("optimizer", optimizer)]
            + (optimizer == "sgd" ? [("momentum", "\(momentum)")] : [])
            + [("retain", "\(retain)"), ("stop", stopAccuracy.map { "forget_acc<=\($0)" } ?? "none"), ("seed", "\(seed)"), ("shuffle", "\(shuffle)")]
    }

    func tensors(in context: PlanContext) throws -> [String] {
        TrainableTensors.select(in: context)
    }

    func run(_ context: ModelPassContext) throws -> ModelPassResult {
        let network = try context.trainableNetwork(for: name)
        let trainable = Set(network.parameters.map(\.name))
        let training = context.tensors.filter(trainable.contains)
        let chosen: any Optimizer = optimizer == "adam" ? Adam(learningRate: Float(learningRate))
            : SGD(learningRate: Float(learningRate), momentum: Float(momentum))
        var trainer = try Trainer(network: network, training: training, optimizer: chosen)
        let forgetPart = try context.data.forget.held(), retainPart = retain > 0 ? try context.data.retain.held() : context.data.retain
        var forget = BatchSampler(part: forgetPart, size: batch, sampleShape: network.inputShape, seed: seed, shuffle: shuffle)
        var retained = BatchSampler(part: retainPart, size: batch, sampleShape: network.inputShape,
                                    seed: seed ^ 0x5245_5441_494E, shuffle: shuffle)
        var losses: [JSONValue] = [], checks: [JSONValue] = []
        var stopped = "after \(steps) steps"
        for step in 1...steps {
            let (x, y) = try forget.next()
            var terms = [TrainingTerm(loss: .negativeCrossEntropy, batch: x, labels: y)]
            if retain > 0 {
                let (rx, ry) = try retained.next()
                terms.append(TrainingTerm(loss: .crossEntropy, batch: rx, labels: ry, weight: retain))
            }
            losses.append(.number(try trainer.step(terms)))
            if let bound = stopAccuracy, step % Self.checkInterval == 0 || step == steps {
                let accuracy = try forgetPart.runner(trainer.network).accuracy(forgetPart.split)
                checks.append(["step": .integer(step), "forget_acc": .number(accuracy)])
                if accuracy <= bound {
                    stopped = "forget_acc \(accuracy) <= \(bound) after \(step) steps"
                    break
                }
            }
        }
        return ModelPassResult(values: trainer.parameters, details: [
            "optimizer": .string(trainer.optimizer.description), "steps": .integer(trainer.steps),
            "epochs_of_forget_data": .number(Double(trainer.steps * batch) / Double(max(context.data.forget.count, 1))),
            "loss": .array(losses), "checks": .array(checks), "stopped": .string(stopped),
        ])
    }
}
