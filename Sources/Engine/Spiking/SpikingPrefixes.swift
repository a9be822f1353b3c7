/// What a network's first nodes (in run order) gave for every batch of a data part, kept so that a
/// network differing only from a later node on runs the rest alone. The threshold pass changes
/// thresholds only: the input, its encoding and the synapses before the first neurons it edits
/// give the same outputs on each of its updates, so they are simulated once.
public struct SpikingPrefixes {
    /// The most memory the kept outputs of one data part may take; beyond it nothing is kept and
    /// every run starts from the input, as without prefixes.
    public static let memoryLimit = 256 << 20

    /// The nodes each batch's prefix covers: those before this one in run order.
    let nodes: Int
    /// The network file.
    let path: String
    /// The tensors those nodes read, as they were: a network whose own differ does not resume.
    let parameters: [String: [Float]]
    let options: SpikingOptions
    let record: Bool
    /// The part simulated: its data, samples and scale.
    let data: any LabeledData, indices: [Int], scale: Float
    /// Per batch in file order: its labels and the state of its simulation after the prefix.
    let batches: [(labels: [Int], state: BatchState)]

    /// Whether simulating `part` with `network` and these settings may start from the prefixes:
    /// the same network file, part, options and recording, and the same parameters for the nodes
    /// they cover (arrays that share storage compare at once).
    func apply(to network: SpikingNetwork, options: SpikingOptions, record: Bool, part: DataPart) -> Bool {
        path == network.path && self.options == options && self.record == record && data === part.data && indices == part.split.indices
            && scale == part.scale && parameters.allSatisfy { network.weights[$0.key] == $0.value }
    }
}

/// One batch's simulation before node `next` (in run order): the outputs later nodes still read
/// (as floats, or the input spike trains as bytes worth Float(byte) × `byteScale`), which of them
/// are spikes, and what was recorded so far.
struct BatchState: Sendable {
    var next = 0
    var outputs: [[Float]?]
    var byteOutputs: [[UInt8]?]
    var byteScale: Float = 1
    var sparse: [Bool]
    var recorded = SpikingBatchResult(scores: [])

    /// Nothing run yet, in a network of `nodes` nodes.
    init(nodes: Int) {
        (outputs, byteOutputs, sparse) = (Array(repeating: nil, count: nodes), Array(repeating: nil, count: nodes), Array(repeating: false, count: nodes))
    }
}

extension SpikingNetwork {
    /// The position (in run order) of the first node that reads one of `tensors`, or the number of
    /// nodes when none does: the nodes before it give the same outputs whatever those tensors hold.
    func firstNode(reading tensors: Set<String>) -> Int {
        nodes.firstIndex { !tensors.isDisjoint(with: $0.kind.tensors) } ?? nodes.count
    }

    /// For each node, the position of the last node that reads its output (its own when none does).
    var lastReaders: [Int] {
        nodes.indices.map { i in nodes.indices.last { nodes[$0].inputs.contains(i) } ?? i }
    }

    /// The bytes the prefixes before node `next` keep for `samples` samples (the outputs later
    /// nodes, or the scores, read, as floats), or nil past `Int.max`.
    func prefixBytes(before next: Int, steps: Int, samples: Int) -> Int? {
        let lastReaders = lastReaders
        var total = 0
        for i in 0..<next where lastReaders[i] >= next || i == readout {
            var bytes = MemoryLayout<Float>.stride
            for factor in [nodes[i].width, steps, samples] {
                let (product, overflow) = bytes.multipliedReportingOverflow(by: factor)
                guard !overflow else { return nil }
                bytes = product
            }
            let (sum, overflow) = total.addingReportingOverflow(bytes)
            guard !overflow else { return nil }
            total = sum
        }
        return total
    }
}
