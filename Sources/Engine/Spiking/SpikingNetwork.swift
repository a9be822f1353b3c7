import Checkpoint

/// A spiking network rebuilt from a NIR graph (the file's `/node`): its nodes in the order they run,
/// its parameters (float32), its input shape and its classes. `SpikingSimulator` runs it.
public struct SpikingNetwork: Sendable {
    public let path: String
    let nodes: [SpikingNode]
    /// Every float tensor the simulator reads, by its name in the file.
    public let weights: [String: [Float]]
    /// One sample's input shape, as NIR states it (no batch, no time).
    public let inputShape: [Int]
    /// Output units: the classes.
    public let classes: Int
    /// The node feeding the Output node: its spike counts (or, for a leaky integrator, its mean
    /// membrane potential) are the class scores.
    let readout: Int
    /// Wᵀ of every Affine/Linear weight, for adding the weights of the inputs that spiked.
    let columns: [String: [Float]]

    /// The node types the simulator runs.
    public static let supported = ["Input", "Output", "Affine", "Linear", "Scale", "LIF", "IF", "LI", "CubaLIF", "Flatten",
                                   "Conv2d", "SumPool2d", "AvgPool2d"]

    public init(checkpoint: any CheckpointFile) throws {
        guard let graph = checkpoint.metadata.nirGraph else { throw SpikingGraphError.notSpiking(path: checkpoint.path) }
        let path = checkpoint.path
        let infos = Dictionary(checkpoint.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for node in graph.nodes where !Self.supported.contains(node.type) {
            throw SpikingGraphError.unsupportedNode(path: path, node: node.name, type: node.type)
        }
        // Run order: Kahn's algorithm from the edges; a cycle is a recurrent graph.
        let names = graph.nodes.map(\.name)
        let inbound = graph.inbound
        var remaining = Dictionary(uniqueKeysWithValues: names.map { ($0, inbound[$0]?.count ?? 0) })
        var ready = names.filter { remaining[$0] == 0 }
        var order: [String] = []
        let outbound = graph.outbound
        while let name = ready.first {
            ready.removeFirst()
            order.append(name)
            for next in outbound[name] ?? [] {
                guard let count = remaining[next] else { throw SpikingGraphError.node(path: path, node: name, problem: "an edge to '\(next)', which is not a node of the graph") }
                remaining[next] = count - 1
                if count - 1 == 0 { ready.append(next) }
            }
        }
        guard order.count == names.count else {
            throw SpikingGraphError.node(path: path, node: names.first { !order.contains($0) } ?? "", problem: "on a cycle of edges (a recurrent graph), which the simulator does not run")
        }
        let inputNodes = graph.nodes.filter { $0.type == "Input" }, outputNodes = graph.nodes.filter { $0.type == "Output" }
        guard inputNodes.count == 1, outputNodes.count == 1 else {
            throw SpikingGraphError.node(path: path, node: (inputNodes.count == 1 ? outputNodes : inputNodes).first?.name ?? "", problem: "the graph has \(inputNodes.count) Input and \(outputNodes.count) Output nodes; the simulator runs graphs with one of each")
        }
        var weights: [String: [Float]] = [:]
        func floats(_ node: NIRGraph.Node, _ parameter: String, count: Int?, required: Bool = true) throws -> String? {
            let name = node.tensor(parameter)
            guard let info = infos[name] else {
                if required { throw SpikingGraphError.parameter(path: path, node: node.name, tensor: name, problem: "missing (a float dataset is expected)") }
                return nil
            }
            guard info.dtype.isEditable else {
                throw SpikingGraphError.parameter(path: path, node: node.name, tensor: name, problem: "\(info.dtype.rawValue), expected floats")
            }
            let values: [Float] = switch try checkpoint.read(info).values {
            case .float32(let v): v
            case .float64(let v): v.map(Float.init)
            }
            if let count, values.count != count {
                throw SpikingGraphError.parameter(path: path, node: node.name, tensor: name, problem: "shape \(info.shape), expected \(count) values (one per unit)")
            }
            weights[name] = values
            return name
        }
        /// Time constants divide dt: each must be a positive finite number.
        func positive(_ node: NIRGraph.Node, _ parameter: String) throws {
            guard let info = infos[node.tensor(parameter)] else {
                throw SpikingGraphError.parameter(path: path, node: node.name, tensor: node.tensor(parameter), problem: "missing (a float dataset is expected)")
            }
            let values: [Double] = switch try checkpoint.read(info).values {
            case .float32(let v): v.map(Double.init)
            case .float64(let v): v
            }
            if let bad = values.first(where: { !($0 > 0 && $0.isFinite) }) {
                throw SpikingGraphError.parameter(path: path, node: node.name, tensor: info.name, problem: "time constants must be positive and finite (found \(bad))")
            }
        }
        var built: [SpikingNode] = []
        var index: [String: Int] = [:]
        var inputShape: [Int] = []
        for name in order {
            let node = graph.node(name)!
            // Sizes come from the file: bounded before any arithmetic on them.
            if let (parameter, values) = node.integers.first(where: { $0.value.contains { abs($0) > Self.largestInteger } }) {
                throw SpikingGraphError.parameter(path: path, node: name, tensor: node.tensor(parameter), problem: "\(values): each value must be within ±\(Self.largestInteger)")
            }
            let sources = (inbound[name] ?? []).map { index[$0]! }
            var shape: [Int] = []
            if let first = sources.first {
                shape = built[first].outputShape
                for other in sources.dropFirst() where built[other].width != built[first].width {
                    throw SpikingGraphError.node(path: path, node: name, problem: "it reads nodes of different sizes: '\(built[first].name)' \(built[first].outputShape) and '\(built[other].name)' \(built[other].outputShape)")
                }
            }
            let width = shape.reduce(1, *)
            let kind: SpikingNodeKind
            var output = shape
            switch node.type {
            case "Input":
                guard let declared = node.integers["shape"] ?? node.integers["input_type"], !declared.isEmpty, declared.allSatisfy({ $0 > 0 }),
                      declared.count <= 4 else {
                    throw SpikingGraphError.parameter(path: path, node: name, tensor: node.tensor("shape"), problem: "expected 1 to 4 positive sizes (integers)")
                }
                guard declared.reduce(1, *) <= 1 << 28 else {
                    throw SpikingGraphError.parameter(path: path, node: name, tensor: node.tensor("shape"), problem: "an input of \(declared) is too large to simulate")
                }
                inputShape = declared
                output = declared
                kind = .input
            case "Output":
                kind = .output
            case "Affine", "Linear":
                guard let info = infos[node.tensor("weight")], info.shape.count == 2 else {
                    throw SpikingGraphError.parameter(path: path, node: name, tensor: node.tensor("weight"), problem: "missing, or not a matrix (outputs, inputs)")
                }
                guard info.shape[1] == width else {
                    throw SpikingGraphError.parameter(path: path, node: name, tensor: info.name, problem: "shape \(info.shape) does not take the \(shape) input it is fed")
                }
                let weight = try floats(node, "weight", count: info.count)!
                let bias = node.type == "Affine" ? try floats(node, "bias", count: info.shape[0], required: false) : nil
                kind = .affine(weight: weight, bias: bias)
                output = [info.shape[0]]
            case "Scale":
                kind = .scale(try floats(node, "scale", count: width)!)
            case "LIF":
                try positive(node, "tau")
                kind = .lif(tau: try floats(node, "tau", count: width)!, r: try floats(node, "r", count: width)!,
                            leak: try floats(node, "v_leak", count: width)!, threshold: try floats(node, "v_threshold", count: width)!,
                            reset: try floats(node, "v_reset", count: width, required: false) ?? "")
            case "IF":
                kind = .integrateAndFire(r: try floats(node, "r", count: width)!, threshold: try floats(node, "v_threshold", count: width)!,
                                         reset: try floats(node, "v_reset", count: width, required: false) ?? "")
            case "LI":
                try positive(node, "tau")
                kind = .leakyIntegrator(tau: try floats(node, "tau", count: width)!, r: try floats(node, "r", count: width)!,
                                        leak: try floats(node, "v_leak", count: width)!)
            case "CubaLIF":
                try positive(node, "tau_syn")
                try positive(node, "tau_mem")
                kind = .cubaLIF(tauSynapse: try floats(node, "tau_syn", count: width)!, tauMembrane: try floats(node, "tau_mem", count: width)!,
                                r: try floats(node, "r", count: width)!, leak: try floats(node, "v_leak", count: width)!,
                                threshold: try floats(node, "v_threshold", count: width)!,
                                reset: try floats(node, "v_reset", count: width, required: false) ?? "",
                                weightIn: try floats(node, "w_in", count: width, required: false) ?? "")
            case "Flatten":
                let start = node.integers["start_dim"]?.first ?? 0, end = node.integers["end_dim"]?.first ?? -1
                let rank = shape.count
                let (first, last) = (start < 0 ? rank + start : start, end < 0 ? rank + end : end)
                guard first >= 0, last < rank, first <= last else {
                    throw SpikingGraphError.node(path: path, node: name, problem: "cannot flatten axes \(start)...\(end) of a \(shape) input (axes of one sample)")
                }
                output = Array(shape[..<first]) + [shape[first...last].reduce(1, *)] + Array(shape[(last + 1)...])
                kind = .flatten
            case "Conv2d":
                guard shape.count == 3, let info = infos[node.tensor("weight")], info.shape.count == 4 else {
                    throw SpikingGraphError.node(path: path, node: name, problem: "a Conv2d needs a weight (out, in, height, width) and a (channels, height, width) input; it is fed \(shape)")
                }
                let groups = node.integers["groups"]?.first ?? 1
                guard groups >= 1, shape[0] % groups == 0, info.shape[0] % groups == 0, info.shape[1] * groups == shape[0] else {
                    throw SpikingGraphError.parameter(path: path, node: name, tensor: info.name, problem: "shape \(info.shape) in \(groups) groups does not take the \(shape) input it is fed")
                }
                let stride = Self.pair(node.integers["stride"], default: 1), padding = Self.pair(node.integers["padding"], default: 0)
                let dilation = Self.pair(node.integers["dilation"], default: 1)
                let height = (shape[1] + 2 * padding.0 - dilation.0 * (info.shape[2] - 1) - 1) / max(stride.0, 1) + 1
                let widthOut = (shape[2] + 2 * padding.1 - dilation.1 * (info.shape[3] - 1) - 1) / max(stride.1, 1) + 1
                guard stride.0 > 0, stride.1 > 0, dilation.0 > 0, dilation.1 > 0, height > 0, widthOut > 0 else {
                    throw SpikingGraphError.node(path: path, node: name, problem: "stride \(stride), padding \(padding) and dilation \(dilation) leave no output from a \(shape) input")
                }
                kind = .conv2d(Convolution(weight: try floats(node, "weight", count: info.count)!,
                                           bias: try floats(node, "bias", count: info.shape[0], required: false),
                                           kernel: (info.shape[2], info.shape[3]), stride: stride, padding: padding, dilation: dilation, groups: groups))
                output = [info.shape[0], height, widthOut]
            case "SumPool2d", "AvgPool2d":
                guard shape.count == 3 else {
                    throw SpikingGraphError.node(path: path, node: name, problem: "pooling needs a (channels, height, width) input; it is fed \(shape)")
                }
                let size = Self.pair(node.integers["kernel_size"], default: 2), stride = Self.pair(node.integers["stride"], default: size.0)
                let padding = Self.pair(node.integers["padding"], default: 0)
                let height = (shape[1] + 2 * padding.0 - size.0) / max(stride.0, 1) + 1, widthOut = (shape[2] + 2 * padding.1 - size.1) / max(stride.1, 1) + 1
                guard size.0 > 0, size.1 > 0, stride.0 > 0, stride.1 > 0, height > 0, widthOut > 0 else {
                    throw SpikingGraphError.node(path: path, node: name, problem: "a \(size) window with stride \(stride) and padding \(padding) leaves no output from a \(shape) input")
                }
                kind = .pool2d(average: node.type == "AvgPool2d", kernel: size, stride: stride, padding: padding)
                output = [shape[0], height, widthOut]
            default:
                throw SpikingGraphError.unsupportedNode(path: path, node: name, type: node.type)
            }
            if node.type != "Input", sources.isEmpty { throw SpikingGraphError.node(path: path, node: name, problem: "no edge feeds it") }
            index[name] = built.count
            built.append(SpikingNode(name: name, type: node.type, kind: kind, inputs: sources, inputShape: shape, outputShape: output))
        }
        let output = built.firstIndex { $0.type == "Output" }!
        guard let readout = built[output].inputs.first, built[output].inputs.count == 1 else {
            throw SpikingGraphError.node(path: path, node: built[output].name, problem: "the Output node is fed by \(built[output].inputs.count) nodes; the simulator reads one")
        }
        self.init(path: path, nodes: built, weights: weights, inputShape: inputShape, readout: readout)
    }

    private init(path: String, nodes: [SpikingNode], weights: [String: [Float]], inputShape: [Int], readout: Int) {
        (self.path, self.nodes, self.weights, self.inputShape, self.readout) = (path, nodes, weights, inputShape, readout)
        classes = nodes[readout].width
        var columns: [String: [Float]] = [:]
        for node in nodes {
            guard case .affine(let weight, _) = node.kind else { continue }
            columns[weight] = SpikingSynapses.transposed(weights[weight]!, outputs: node.width, inputs: node.inputShape.reduce(1, *))
        }
        self.columns = columns
    }

    /// The same network with some tensors replaced (same sizes).
    public func replacing(_ values: [String: [Float]]) throws -> SpikingNetwork {
        var weights = self.weights
        for (name, replacement) in values {
            guard let old = weights[name] else { throw EngineError.unknownWeight(path: path, tensor: name) }
            guard old.count == replacement.count else {
                throw EngineError.weightShape(path: path, layer: "", tensor: name, expected: "\(old.count) values", actual: [replacement.count])
            }
            weights[name] = replacement
        }
        return SpikingNetwork(path: path, nodes: nodes, weights: weights, inputShape: inputShape, readout: readout)
    }

    /// The spiking nodes in run order, with their shapes.
    public var spikingNodes: [(name: String, shape: [Int])] {
        nodes.filter { $0.kind.spikes }.map { ($0.name, $0.outputShape) }
    }

    /// Each Affine/Linear or Conv2d node: its input shape, and the spiking node it drives (the one
    /// that reads its output unchanged, if any) — the pre- and postsynaptic units of its weights.
    public var synapseLayers: [(name: String, inputShape: [Int], outputShape: [Int], neurons: String?)] {
        nodes.enumerated().compactMap { position, node in
            switch node.kind {
            case .affine, .conv2d:
                let driven = nodes.first { $0.kind.spikes && $0.inputs == [position] }
                return (node.name, node.inputShape, node.outputShape, driven?.name)
            default:
                return nil
            }
        }
    }

    /// Every node in run order: its type, the nodes feeding it and its shapes (one sample's).
    public var graphNodes: [(name: String, type: String, inputs: [String], inputShape: [Int], outputShape: [Int])] {
        nodes.map { node in (node.name, node.type, node.inputs.map { nodes[$0].name }, node.inputShape, node.outputShape) }
    }

    /// The node whose output the Output node reads (the output neurons).
    public var readoutName: String { nodes[readout].name }

    /// Whether the output neurons spike (else their mean membrane potential is the score).
    public var readoutSpikes: Bool { nodes[readout].kind.spikes }

    /// Float values one sample holds while a batch runs: every node's output over all steps.
    var valuesPerSample: Int { nodes.reduce(0) { $0 + $1.width } }

    /// The largest size, stride or padding a graph may state (so products of a few stay far from overflow).
    static let largestInteger = 1 << 15

    private static func pair(_ values: [Int]?, default fallback: Int) -> (Int, Int) {
        guard let values, !values.isEmpty else { return (fallback, fallback) }
        return (values[0], values.count > 1 ? values[1] : values[0])
    }
}
