import Checkpoint

/// The values a network makes after its first nodes, held for every sample of a split, so that a
/// model that differs from it only in later layers runs from there instead of from the input (the
/// strength search's trials: `dampen` changes only the output layer). The later nodes get the
/// batches the whole network's outputs would (the same samples per batch, in the same order), and
/// a batch's values do not depend on anything else, so the outputs are bit for bit the whole
/// network's.
public struct HeldActivations: @unchecked Sendable {
    /// How many of the network's nodes made the held values (they are node `nodes - 1`'s outputs).
    public let nodes: Int
    /// Samples per batch: the whole network's, for its outputs.
    let batch: Int
    /// The held values, one row per sample of the split, in its order, with the labels.
    let values: ArrayData

    /// The bytes the held values take.
    public var bytes: Int { values.count * values.sampleShape.reduce(1, *) * 4 }

    /// Bytes held at most, by every `HeldActivations` of a search together (see `bytes`).
    public static let budget = 64 << 20

    /// The first node whose layer reads one of `changed` (tensor names), when the network can be run
    /// from it: every node from there on takes only values made from there on. The last node when
    /// nothing changed; nil when the first node changes, or the graph cannot be cut there.
    public static func cut(_ network: Network, changed: Set<String>) -> Int? {
        let first = network.nodes.firstIndex { node in
            guard case .layer(let layer) = node.operation else { return false }
            return layer.weights.keys.contains { changed.contains($0) }
        } ?? network.nodes.count - 1
        guard first > 0, network.nodes[first...].allSatisfy({ $0.inputs.allSatisfy { $0 >= first } }) else { return nil }
        return first
    }

    /// The bytes the values after the first `nodes` nodes take for `samples` samples; nil if too many to count.
    public static func bytes(_ network: Network, nodes: Int, samples: Int) -> Int? {
        guard let shapes = try? network.valueShapes(), let width = Network.count(shapes[nodes]) else { return nil }
        let (perSample, overflow) = width.multipliedReportingOverflow(by: 4)
        guard !overflow else { return nil }
        let (total, overflow2) = perSample.multipliedReportingOverflow(by: samples)
        return overflow2 ? nil : total
    }

    /// Runs the first `nodes` nodes of `network` on every sample of `part`, and holds their output.
    public init(_ network: Network, nodes: Int, on part: DataPart) throws {
        precondition(nodes > 0 && nodes < network.nodes.count, "a cut inside the network")
        let shapes = try network.valueShapes()
        self.nodes = nodes
        batch = network.samplesPerBatch
        var x: [Float] = [], y: [Int] = []
        try part.runner(network).concurrentBatches(of: part.split, size: batch) { input, labels in
            (network.forward(input, through: nodes).values, labels)
        } combine: { batch in
            x += batch.0
            y += batch.1
        }
        values = ArrayData(path: part.data.path, x: x, y: y, sampleShape: shapes[nodes])
    }

    /// The outputs of `network` (whose first `nodes` nodes are those that made the held values) on
    /// the held samples, in order, with their labels.
    public func outputs(of network: Network) throws -> (values: [Float], labels: [Int]) {
        let rest = try network.suffix(from: nodes)
        let measured = try NetworkRunner(network: rest, data: values, scale: 1)
            .measure(Split(name: "held", indices: Array(0..<values.count)), outputs: true, samplesPerBatch: batch)
        return (measured.outputs, measured.labels)
    }
}

extension Network {
    /// Samples per batch when the network's outputs are measured (about 16 MiB of activations, at most 256).
    var samplesPerBatch: Int { min(max((4 << 20) / valuesPerSample, 16), 256) }

    /// The shape of every value of the graph (0 the input, i + 1 node i's output), per sample.
    func valueShapes() throws -> [[Int]] {
        var shapes = [inputShape]
        for node in nodes { shapes.append(try node.outputShape(for: node.inputs.map { shapes[$0] }, path: path)) }
        return shapes
    }

    /// The value after the first `count` nodes for a batch (node `count - 1`'s output).
    func forward(_ input: Batch, through count: Int) -> Batch {
        var activations = [input]
        activations.reserveCapacity(count + 1)
        for node in nodes[..<count] {
            switch node.operation {
            case .layer(let layer): activations.append(layer.forward(activations[node.inputs[0]]))
            case .merge(let merge): activations.append(merge.forward(node.inputs.map { activations[$0] }))
            }
        }
        return activations[count]
    }

    /// The network of the nodes from `first` on, whose input is the value they start from (see
    /// `HeldActivations.cut`: no later node takes an earlier value).
    func suffix(from first: Int) throws -> Network {
        let shapes = try valueShapes()
        let rest = nodes[first...].map { node in
            Node(node.operation, inputs: node.inputs.map { $0 - first })
        }
        return try Network(path: path, inputShape: shapes[first], nodes: rest)
    }
}
