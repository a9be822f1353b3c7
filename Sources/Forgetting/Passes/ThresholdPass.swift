import Checkpoint
import Engine

/// `threshold[:gamma=Γ,target=zero|retain,select=K|P%|all,iters=N,tol=T,beta=B,scope=neuron|layer,sign=corrected|paper]` —
/// adaptive firing thresholds, the third phase of the spiking-network paper (eq. 13–15): the
/// selected neurons' thresholds are raised by how much more they fire on the forget data than
/// desired, and the network is simulated again, until every selected neuron is within `tol` spikes
/// per forget sample of the desired response or `iters` updates have been made.
///
/// Per neuron i, with S_i the mean spikes per forget sample over the T steps and Ŝ_i the desired
/// response (0 with `target=zero`; the neuron's mean on the retain data, measured once before the
/// first update, with `target=retain`): ΔΘ_i = +γ·(S_i − Ŝ_i) + β·[(S_i(T) − S_i(1)) − (Ŝ_i(T) − Ŝ_i(1))],
/// Θ_i ← max(Θ_i + ΔΘ_i, 0). The β term is eq. 15's sum of a discrete derivative over the window,
/// which telescopes to its last step minus its first (S_i(t): the share of samples spiking at step t).
/// The paper prints eq. 13 with −γ, which lowers the threshold of a neuron that fires too much and
/// makes it fire more; `sign=paper` keeps that sign for comparison only.
///
/// Selected: in each layer whose thresholds are edited, the K neurons (`select=K`, default 1, or a
/// share of the layer, `select=P%`, rounded up) whose mean spikes on forget samples exceed
/// those on retain samples most (only neurons that do exceed them), and in the output layer the
/// neurons of the forgotten classes (the most forget-selective ones without `--class`);
/// `select=all` takes every neuron. `scope=layer` gives every neuron of a layer the mean change of
/// its selected neurons, so a layer whose thresholds were equal keeps them equal (snnTorch's NIR
/// importer accepts one threshold per layer only). A model pass on spiking (NIR) networks.
struct ThresholdPass: ModelPass {
    static let name = "threshold"
    static let usage = "threshold[:gamma=Γ,target=zero|retain,select=K|P%|all,iters=N,tol=T,beta=B,scope=neuron|layer,sign=corrected|paper]"
    static let summary = "raise the firing thresholds of the neurons that answer the forget data, simulating until they are quiet (NIR; needs --data)"
    static let parameterNames = ["gamma", "target", "select", "iters", "tol", "beta", "scope", "sign"]

    let gamma: Double, beta: Double, tolerance: Double
    let iterations: Int
    /// Neurons per layer: a number, or a share of the layer's neurons (rounded up).
    enum Selection: Equatable { case count(Int), share(Double), all }
    let selection: Selection
    let retainTarget: Bool, layerScope: Bool, paperSign: Bool

    init(_ arguments: PassArguments) throws {
        let spec = arguments.spec.text
        gamma = try arguments.double("gamma", positional: true, default: 0.5, in: 0...1e6)
        beta = try arguments.double("beta", default: 0, in: -1e6...1e6)
        tolerance = try arguments.double("tol", default: 0.05, in: 0...1e6)
        let iterations = try arguments.integer("iters", default: 100)
        // Checked as read (UInt64), then converted: a count past Int.max would trap in Int(_:).
        guard (1...100_000).contains(iterations) else { throw PassError.badValue(spec: spec, key: "iters", value: "\(iterations)", expected: "a number from 1 to 100000") }
        self.iterations = Int(iterations)
        func choice(_ key: String, _ values: [String]) throws -> String {
            let value = arguments.string(key) ?? values[0]
            guard values.contains(value) else { throw PassError.badValue(spec: spec, key: key, value: value, expected: values.joined(separator: " or ")) }
            return value
        }
        retainTarget = try choice("target", ["zero", "retain"]) == "retain"
        layerScope = try choice("scope", ["neuron", "layer"]) == "layer"
        paperSign = try choice("sign", ["corrected", "paper"]) == "paper"
        switch arguments.string("select") {
        case nil: selection = .count(1)
        case "all": selection = .all
        case let text? where text.hasSuffix("%"):
            guard let percent = Double(text.dropLast()), percent > 0, percent <= 100 else {
                throw PassError.badValue(spec: spec, key: "select", value: text, expected: "a share of each layer's neurons from 0% (excluded) to 100%")
            }
            selection = .share(percent / 100)
        case let text?:
            guard let k = Int(text), k >= 1 else { throw PassError.badValue(spec: spec, key: "select", value: text, expected: "a number of neurons per layer (at least 1), a share such as 10%, or all") }
            selection = .count(k)
        }
    }

    var requirements: Set<PassRequirement> { [.data(.forget), .data(.retain)] }

    var parameters: [(name: String, value: String)] {
        [("gamma", "\(gamma)"), ("target", retainTarget ? "retain" : "zero"), ("select", selectionText),
         ("iters", "\(iterations)"), ("tol", "\(tolerance)"), ("beta", "\(beta)"), ("scope", layerScope ? "layer" : "neuron"),
         ("sign", paperSign ? "paper" : "corrected")]
    }

    private var selectionText: String {
        switch selection {
        case .count(let k): "\(k)"
        case .share(let share): "\(share * 100)%"
        case .all: "all"
        }
    }

    func tensors(in context: PlanContext) throws -> [String] {
        guard context.layout.kind == .nir else {
            throw PassError.wrongModel(pass: Self.name, path: context.layout.path, needs: "adapts the firing thresholds of a spiking network (a NIR graph)")
        }
        return context.layout.layers.flatMap(\.tensors).filter { $0.role == .threshold && $0.info.dtype.isEditable }.map(\.info.name)
    }

    func run(_ context: ModelPassContext) throws -> ModelPassResult {
        guard var model = context.model as? SpikingModel else {
            throw PassError.wrongModel(pass: Self.name, path: context.model.path, needs: "adapts the firing thresholds of a spiking network (a NIR graph)")
        }
        // The threshold tensors edited, by the spiking node they belong to.
        let spiking = Dictionary(uniqueKeysWithValues: model.network.spikingNodes.map { ($0.name, $0.shape.reduce(1, *)) })
        var layers: [(node: String, tensor: String, width: Int)] = []
        for tensor in context.tensors {
            guard let (node, _) = NIRGraph.split(tensor), let width = spiking[node] else { continue }
            layers.append((node, tensor, width))
        }
        guard !layers.isEmpty else { return ModelPassResult(values: [:], details: ["stopped": "no spiking node's threshold selected"]) }

        let (forget, retain) = (context.data.forget, context.data.retain)
        // Only thresholds change: the nodes before the first one whose thresholds are edited give
        // the same outputs on every update, so the first simulation keeps them and each update
        // simulates the rest (the same results; see SpikingPrefixes).
        let edited = Set(layers.map(\.tensor))
        let (forgetMeasures, forgetKept) = try SpikingRunner(model: model, part: forget).measure(keepScores: true, keepingWhatDoesNotRead: edited)
        let (retainMeasures, retainKept) = try SpikingRunner(model: model, part: retain).measure(keepScores: true, keepingWhatDoesNotRead: edited)
        let original = Response(forget: forgetMeasures, retain: retainMeasures, classes: model.classes)
        let selected = select(layers, original: original, readout: model.network.readoutName, classes: context.target.classes)
        // The desired response of each selected neuron: none, or its spikes on retain data, and their ends in time.
        func desired(_ node: String, _ i: Int) -> (total: Double, first: Double, last: Double) {
            guard retainTarget else { return (0, 0, 0) }
            return (original.retainMean[node]![i], original.retainFirst[node]![i], original.retainLast[node]![i])
        }
        var thresholds = Dictionary(uniqueKeysWithValues: layers.map { ($0.tensor, model.network.weights[$0.tensor]!) })
        var response = original
        var log: [JSONValue] = [response.json(selected, iteration: 0)]
        var stopped = "iteration limit (\(iterations))"
        for iteration in 1...iterations {
            var excess = 0.0
            var updated = thresholds
            for layer in layers {
                let chosen = selected[layer.node] ?? []
                guard !chosen.isEmpty else { continue }
                var change = [Double](repeating: 0, count: layer.width)
                for i in chosen {
                    let want = desired(layer.node, i)
                    let difference = response.forgetMean[layer.node]![i] - want.total
                    excess = max(excess, difference)
                    let timing = (response.forgetLast[layer.node]![i] - response.forgetFirst[layer.node]![i]) - (want.last - want.first)
                    change[i] = (paperSign ? -gamma : gamma) * difference + beta * timing
                }
                if layerScope {
                    let mean = chosen.reduce(0.0) { $0 + change[$1] } / Double(chosen.count)
                    change = [Double](repeating: mean, count: layer.width)
                }
                updated[layer.tensor] = zip(thresholds[layer.tensor]!, change).map { Float(max(Double($0) + $1, 0)) }
            }
            // Converged: the thresholds measured last are the result; the update just computed is not applied.
            if excess <= tolerance {
                stopped = "converged after \(iteration - 1) updates: every selected neuron within \(tolerance) spikes per forget sample of its desired response"
                break
            }
            thresholds = updated
            model = try model.replacing(thresholds)
            response = Response(forget: try SpikingRunner(model: model, part: forget).measure(keepScores: true, resuming: forgetKept),
                                retain: try SpikingRunner(model: model, part: retain).measure(keepScores: true, resuming: retainKept),
                                classes: model.classes)
            log.append(response.json(selected, iteration: iteration))
        }
        let details: JSONValue = [
            "equation": .string((paperSign ? "dTheta_i = -gamma*sum_t(S_i - S^_i)" : "dTheta_i = +gamma*sum_t(S_i - S^_i)")
                + " + beta*[(S_i(T) - S_i(1)) - (S^_i(T) - S^_i(1))]; Theta_i <- max(Theta_i + dTheta_i, 0)"),
            "simulation": .string(model.options.description),
            "selected": .object(layers.map { ($0.node, JSONValue((selected[$0.node] ?? []).map { $0 })) }),
            "iterations": .array(log),
            "stopped": .string(stopped),
        ]
        return ModelPassResult(values: thresholds, details: details)
    }

    /// Per layer, the neurons whose thresholds adapt.
    private func select(_ layers: [(node: String, tensor: String, width: Int)], original: Response, readout: String,
                        classes: [Int]) -> [String: [Int]] {
        var selected: [String: [Int]] = [:]
        for layer in layers {
            let perLayer: Int
            switch selection {
            case .all: perLayer = layer.width
            case .count(let k): perLayer = k
            case .share(let share): perLayer = Int((share * Double(layer.width)).rounded(.up))
            }
            if selection == .all {
                selected[layer.node] = Array(0..<layer.width)
            } else if layer.node == readout, !classes.isEmpty {
                selected[layer.node] = classes.filter { $0 < layer.width }
            } else {
                let (forget, retain) = (original.forgetMean[layer.node]!, original.retainMean[layer.node]!)
                let selectivity = (0..<layer.width).map { forget[$0] - retain[$0] }
                // Most selective first, ties to the lower index; only neurons firing more on the forget data.
                let ranked = (0..<layer.width).filter { selectivity[$0] > 0 }.sorted { selectivity[$0] > selectivity[$1] || (selectivity[$0] == selectivity[$1] && $0 < $1) }
                selected[layer.node] = Array(ranked.prefix(perLayer)).sorted()
            }
        }
        return selected
    }

    /// What the network does on the forget and the retain data: each spiking neuron's mean spikes
    /// per sample, the share of samples spiking at the first and the last step, and the accuracy.
    struct Response {
        var forgetMean: [String: [Double]] = [:], forgetFirst: [String: [Double]] = [:], forgetLast: [String: [Double]] = [:]
        var retainMean: [String: [Double]] = [:], retainFirst: [String: [Double]] = [:], retainLast: [String: [Double]] = [:]
        var forgetAccuracy = 0.0, retainAccuracy = 0.0

        init(forget f: SpikeMeasures, retain r: SpikeMeasures, classes: Int) {
            func perSample(_ sums: [String: [Double]], _ n: Int) -> [String: [Double]] { sums.mapValues { $0.map { $0 / Double(max(n, 1)) } } }
            (forgetMean, forgetFirst, forgetLast) = (f.meanCounts, perSample(f.firstStep, f.samples), perSample(f.lastStep, f.samples))
            (retainMean, retainFirst, retainLast) = (r.meanCounts, perSample(r.firstStep, r.samples), perSample(r.lastStep, r.samples))
            forgetAccuracy = Self.accuracy(f, classes: classes)
            retainAccuracy = Self.accuracy(r, classes: classes)
        }

        static func accuracy(_ measures: SpikeMeasures, classes: Int) -> Double {
            guard !measures.labels.isEmpty else { return 0 }
            var correct = 0
            for (sample, label) in measures.labels.enumerated() {
                let row = measures.scores[(sample * classes)..<((sample + 1) * classes)]
                if row.indices.max(by: { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) })! - sample * classes == label { correct += 1 }
            }
            return Double(correct) / Double(measures.labels.count)
        }

        /// One line of the iteration log: accuracies and the selected neurons' mean spikes per sample.
        func json(_ selected: [String: [Int]], iteration: Int) -> JSONValue {
            func spikes(_ means: [String: [Double]]) -> JSONValue {
                let values = selected.keys.sorted().flatMap { node in selected[node]!.map { means[node]![$0] } }
                return .number(values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count))
            }
            return ["iteration": .integer(iteration),
                    "forget": ["accuracy": .number(forgetAccuracy), "selected_spikes": spikes(forgetMean)],
                    "retain": ["accuracy": .number(retainAccuracy), "selected_spikes": spikes(retainMean)]]
        }
    }
}
