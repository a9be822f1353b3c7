import Checkpoint
import Engine

/// `finetune[:epochs=E,lr=η,batch=B,optimizer=adam|sgd,freeze=auto|F|none,importance=fisher|gradient,penalty=P,relabel=A:B,seed=S]` —
/// freezing plus a modified loss (Fabbri 2024): the parameters that matter to the forget data are
/// found from its Fisher information (or |gradient|) and only they are trained; the rest stay
/// frozen. Each step descends ordinary cross-entropy on a retain batch plus P times a penalty on a
/// forget batch: −log(1 − p_y) on each forget sample's own label (the forgotten class), or, with
/// `relabel=A:B`, cross-entropy steering class-A samples toward class B instead.
/// - `freeze=auto` (default): train the elements whose forget-data Fisher exceeds their retain-data
///   Fisher (they matter more to what is forgotten than to what is kept);
/// - `freeze=F` (0 ≤ F < 1): freeze the fraction F least important to the forget data, train the rest;
/// - `freeze=none`: train everything.
/// E epochs of the retain split (default 1) in batches of B (default 32), Adam (default) or SGD.
struct FinetunePass: ModelPass {
    static let name = "finetune"
    static let usage = "finetune[:epochs=E,lr=η,batch=B,optimizer=adam|sgd,freeze=auto|F|none,importance=fisher|gradient,penalty=P,relabel=A:B,seed=S]"
    static let summary = "freeze what the forget data does not need, fine-tune the rest with a penalty on the forgotten class (runs the model; needs --data)"
    static let parameterNames = ["epochs", "lr", "batch", "optimizer", "freeze", "importance", "penalty", "relabel", "seed"]

    enum Freeze: Equatable { case auto, fraction(Double), none }

    let epochs: Int, learningRate: Double, batch: Int, optimizer: String
    let freeze: Freeze, importance: String, penalty: Double, relabel: (from: Int, to: Int)?, seed: UInt64

    init(_ arguments: PassArguments) throws {
        let spec = arguments.spec.text
        let epochs = try arguments.integer("epochs", positional: true, default: 1)
        learningRate = try arguments.double("lr", default: 1e-3, in: 0...Double.greatestFiniteMagnitude)
        let batch = try arguments.integer("batch", default: 32)
        optimizer = arguments.string("optimizer") ?? "adam"
        importance = arguments.string("importance") ?? "fisher"
        penalty = try arguments.double("penalty", default: 1, in: 0...1e6)
        seed = try arguments.integer("seed", default: 0)
        // Checked as read (UInt64), then converted: a count past Int.max would trap in Int(_:).
        guard (1...10_000).contains(epochs) else { throw PassError.badValue(spec: spec, key: "epochs", value: "\(epochs)", expected: "a number of epochs from 1 to 10000") }
        guard (1...(1 << 16)).contains(batch) else { throw PassError.badValue(spec: spec, key: "batch", value: "\(batch)", expected: "a batch size from 1 to 65536") }
        (self.epochs, self.batch) = (Int(epochs), Int(batch))
        guard ["adam", "sgd"].contains(optimizer) else { throw PassError.badValue(spec: spec, key: "optimizer", value: optimizer, expected: "adam or sgd") }
        guard ["fisher", "gradient"].contains(importance) else { throw PassError.badValue(spec: spec, key: "importance", value: importance, expected: "fisher or gradient") }
        switch arguments.string("freeze") ?? "auto" {
        case "auto": freeze = .auto
        case "none": freeze = .none
        case let text:
            guard let value = Double(text), value >= 0, value < 1 else {
                throw PassError.badValue(spec: spec, key: "freeze", value: text, expected: "auto, none, or a fraction from 0 up to (not including) 1")
            }
            freeze = .fraction(value)
        }
        if let text = arguments.string("relabel") {
            let parts = text.split(separator: ":").compactMap { Int($0) }
            guard parts.count == 2, parts.allSatisfy({ $0 >= 0 }), parts[0] != parts[1] else {
                throw PassError.badValue(spec: spec, key: "relabel", value: text, expected: "A:B, two different class indices")
            }
            relabel = (parts[0], parts[1])
        } else {
            relabel = nil
        }
    }

    var requirements: Set<PassRequirement> { [.data(.forget), .data(.retain)] }

    var parameters: [(name: String, value: String)] {
        let frozen = switch freeze {
        case .auto: "auto"
        case .none: "none"
        case .fraction(let f): "\(f)"
        }
        return [("epochs", "\(epochs)"), ("lr", "\(learningRate)"), ("batch", "\(batch)"), ("optimizer", optimizer), ("freeze", frozen),
                ("importance", importance), ("penalty", "\(penalty)"), ("relabel", relabel.map { "\($0.from):\($0.to)" } ?? "none"), ("seed", "\(seed)")]
    }

    func tensors(in context: PlanContext) throws -> [String] {
        TrainableTensors.select(in: context)
    }

    func run(_ context: ModelPassContext) throws -> ModelPassResult {
        let network = try context.trainableNetwork(for: name)
        let trainable = Set(network.parameters.map(\.name))
        let training = context.tensors.filter(trainable.contains)
        let (forget, retain) = (context.data.forget, context.data.retain)
        let masks = try self.masks(network, forget: forget, retain: retain, tensors: training)
        let movable = masks.values.reduce(0) { $0 + $1.count { $0 } }, total = masks.values.reduce(0) { $0 + $1.count }
        let chosen: any Optimizer = optimizer == "adam" ? Adam(learningRate: Float(learningRate)) : SGD(learningRate: Float(learningRate))
        var trainer = try Trainer(network: network, training: training, optimizer: chosen, masks: masks)
        var forgetBatches = BatchSampler(part: try forget.held(), size: batch, sampleShape: network.inputShape, seed: seed ^ 0x464F_5247)
        var retainBatches = BatchSampler(part: try retain.held(), size: batch, sampleShape: network.inputShape, seed: seed)
        let steps = epochs * max((max(retain.count, forget.count) + batch - 1) / batch, 1)
        let forgetLoss: TrainingLoss = relabel.map { .relabelled([$0.from: $0.to]) } ?? .labelPenalty
        var losses: [JSONValue] = []
        for _ in 0..<steps {
            var terms: [TrainingTerm] = []
            if retain.count > 0 {
                let (x, y) = try retainBatches.next()
                terms.append(TrainingTerm(loss: .crossEntropy, batch: x, labels: y))
            }
            if penalty > 0 {
                let (x, y) = try forgetBatches.next()
                terms.append(TrainingTerm(loss: forgetLoss, batch: x, labels: y, weight: penalty))
            }
            guard !terms.isEmpty else { break }
            losses.append(.number(try trainer.step(terms)))
        }
        return ModelPassResult(values: trainer.parameters, details: [
            "optimizer": .string(trainer.optimizer.description), "steps": .integer(trainer.steps),
            "trained_elements": .integer(movable), "elements": .integer(total),
            "trained_share": .number(total == 0 ? 0 : Double(movable) / Double(total)),
            "forget_loss": .string(relabel.map { "cross-entropy toward class \($0.to) for class \($0.from)" } ?? "-log(1 - p_label)"),
            "loss": .array(losses),
        ])
    }

    /// Which elements train: by forget-data importance against retain-data importance (auto), or
    /// the most important (1 − F) of them all (a fraction), or all.
    private func masks(_ network: Network, forget: DataPart, retain: DataPart, tensors: [String]) throws -> [String: [Bool]] {
        let sizes = Dictionary(network.parameters.map { ($0.name, $0.shape.reduce(1, *)) }, uniquingKeysWith: { a, _ in a })
        switch freeze {
        case .none:
            return Dictionary(uniqueKeysWithValues: tensors.map { ($0, [Bool](repeating: true, count: sizes[$0]!)) })
        case .auto:
            let forgetImportance = try self.importance(network, on: forget)
            let retainImportance = try self.importance(network, on: retain)
            return Dictionary(uniqueKeysWithValues: tensors.map { name in
                let (f, r) = (forgetImportance[name] ?? [], retainImportance[name] ?? [])
                return (name, (0..<sizes[name]!).map { i in f.indices.contains(i) && f[i] > (r.indices.contains(i) ? r[i] : 0) })
            })
        case .fraction(let frozen):
            let scores = try self.importance(network, on: forget)
            var all: [Double] = tensors.flatMap { scores[$0] ?? [] }
            all.sort()
            let cut = Int((frozen * Double(all.count)).rounded(.up))
            let threshold = all.isEmpty || cut == 0 ? -Double.infinity : all[cut - 1]
            // Ties at the threshold stay frozen, so at most (1 − F) of the elements train.
            return Dictionary(uniqueKeysWithValues: tensors.map { name in (name, (scores[name] ?? []).map { $0 > threshold }) })
        }
    }

    /// Each parameter element's importance to `part`: its exact Fisher diagonal, or the magnitude of
    /// the mean gradient of the cross-entropy.
    private func importance(_ network: Network, on part: DataPart) throws -> [String: [Double]] {
        guard part.count > 0 else { return [:] }
        if importance == "fisher" { return try part.runner(network).fisher(part.split, mode: .exact) }
        var sums: [String: [Double]] = [:]
        var sampler = BatchSampler(part: part, size: 256, sampleShape: network.inputShape, seed: 0, shuffle: false)
        for _ in 0..<((part.count + 255) / 256) {
            let (x, y) = try sampler.next()
            let gradient = try network.gradient(of: .crossEntropy, batch: x, labels: y)
            for (name, g) in gradient.gradients {
                sums[name, default: [Double](repeating: 0, count: g.count)].withUnsafeMutableBufferPointer { s in
                    for i in s.indices { s[i] += Double(g[i]) * Double(y.count) }
                }
            }
        }
        return sums.mapValues { $0.map { abs($0) / Double(part.count) } }
    }
}
