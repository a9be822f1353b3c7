import Checkpoint

/// Each spiking node's mean spikes per sample (over all steps) on the forget, retain and full
/// splits: the spike counts of eq. 6, per neuron.
public struct SpikeCounts: Sendable {
    public var mean: [DataSplit: [String: [Double]]] = [:]
    public var samples: [DataSplit: Int] = [:]
    /// The spiking nodes in run order, with their shapes (one sample's).
    public var nodes: [(name: String, shape: [Int])] = []
    public var steps: Int
    /// How they were simulated (`SpikingOptions.description`).
    public var simulation: String
}

extension MeasuredStatistics {
    /// Measures what a run's passes need of `model` on its splits: Fisher diagonals (Keras models
    /// only), activity and correlations, logits where the model has them, and outputs.
    public static func measure(_ model: any ClassifierModel, on splits: DataSplits, fisher: FisherMode?, activity: Bool,
                               outputs: Bool = false, logits: Bool = false) throws -> MeasuredStatistics {
        if let network = model as? Network {
            return try measure(network, on: splits, fisher: fisher, activity: activity, outputs: outputs, logits: logits)
        }
        guard let spiking = model as? SpikingModel else { throw EngineError.noModelConfig(path: model.path) }
        if fisher != nil {
            throw SpikingGraphError.node(path: model.path, node: spiking.network.readoutName, problem: "Fisher diagonals need gradients, which the engine does not compute for spiking networks; give --stats")
        }
        return try measure(spiking, on: splits, outputs: outputs)
    }

    /// Simulates the forget, retain and (when it is not their union) full splits: each spiking
    /// node's spike counts, each synapse node's activity (`pre`: its input summed over the steps;
    /// `post`: the spikes of the neurons it drives; per channel for convolutions, as a mean over
    /// positions), and the correlation of eq. 6 as the share of that activity on the forget data.
    public static func measure(_ model: SpikingModel, on splits: DataSplits, outputs: Bool) throws -> MeasuredStatistics {
        let forget = try SpikingRunner(model: model, part: splits.forget).measure(keepScores: outputs)
        let retain = try SpikingRunner(model: model, part: splits.retain).measure(keepScores: outputs)
        var full = forget.merged(with: retain)
        if let part = splits.full, !splits.fullIsUnion { full = try SpikingRunner(model: model, part: part).measure() }
        let measured = [DataSplit.forget: forget, .retain: retain, .full: full]
        var result = MeasuredStatistics(sizes: splits.sizes.filter { $0.key != .test })
        var spikes = SpikeCounts(nodes: model.network.spikingNodes, steps: model.options.steps, simulation: model.options.description)
        for (split, measures) in measured {
            spikes.mean[split] = measures.meanCounts
            spikes.samples[split] = measures.samples
        }
        result.spikes = spikes
        var activity = Activity()
        for (split, measures) in measured {
            let n = Double(max(measures.samples, 1))
            activity.samples[split] = measures.samples
            activity.mean[split] = synapseActivity(model.network, measures).mapValues { ($0.pre.map { $0 / n }, $0.post.map { $0 / n }) }
        }
        let forgetSums = synapseActivity(model.network, forget), fullSums = synapseActivity(model.network, full)
        func share(_ part: [Double], _ whole: [Double]) -> [Double] { zip(part, whole).map { $1 > 0 ? $0 / $1 : 0 } }
        for (layer, sums) in forgetSums {
            guard let whole = fullSums[layer] else { continue }
            activity.correlation[layer] = (share(sums.pre, whole.pre), share(sums.post, whole.post))
        }
        result.activity = activity
        if outputs { result.outputs = [.forget: (forget.scores, forget.labels), .retain: (retain.scores, retain.labels)] }
        return result
    }

    /// Per synapse node with neurons after it: its input and its neurons' spikes summed over samples,
    /// per unit (per channel for three-dimensional shapes, as a mean over positions).
    private static func synapseActivity(_ network: SpikingNetwork, _ measures: SpikeMeasures) -> [String: (pre: [Double], post: [Double])] {
        func channels(_ values: [Double], _ shape: [Int]) -> [Double] {
            guard shape.count == 3 else { return values }
            let positions = shape[1] * shape[2]
            return (0..<shape[0]).map { c in values[(c * positions)..<((c + 1) * positions)].reduce(0, +) / Double(positions) }
        }
        var result: [String: (pre: [Double], post: [Double])] = [:]
        for layer in network.synapseLayers {
            guard let neurons = layer.neurons, let pre = measures.synapseInputs[layer.name], let post = measures.counts[neurons] else { continue }
            result[layer.name] = (channels(pre, layer.inputShape), channels(post, layer.outputShape))
        }
        return result
    }
}

extension SpikeMeasures {
    /// The sums over two disjoint sets of samples (scores are not kept: they would not be in file order).
    func merged(with other: SpikeMeasures) -> SpikeMeasures {
        var union = SpikeMeasures()
        union.samples = samples + other.samples
        func add(_ a: [String: [Double]], _ b: [String: [Double]]) -> [String: [Double]] {
            a.merging(b) { x, y in zip(x, y).map(+) }
        }
        union.counts = add(counts, other.counts)
        union.synapseInputs = add(synapseInputs, other.synapseInputs)
        union.firstStep = add(firstStep, other.firstStep)
        union.lastStep = add(lastStep, other.lastStep)
        return union
    }
}
