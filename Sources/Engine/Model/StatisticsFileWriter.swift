import Checkpoint
import Foundation

/// What the engine measured of a model on a run's data: Fisher diagonals per split and tensor,
/// activity, and (when asked for) the model's outputs on the forget and retain splits.
public struct MeasuredStatistics: Sendable {
    /// Fisher diagonals by split and tensor name (forget, retain, full).
    public var fisher: [DataSplit: [String: [Double]]] = [:]
    public var fisherMode: FisherMode?
    public var activity: Activity?
    /// Each class's lowest and highest logit on the forget, retain and full splits (when asked for).
    public var logits: [DataSplit: LogitRange] = [:]
    /// The model's outputs and the labels on the forget and retain splits, in order: the same
    /// forward passes serve to measure the model.
    public var outputs: [DataSplit: (values: [Float], labels: [Int])] = [:]
    /// Samples per split.
    public var sizes: [DataSplit: Int] = [:]
    /// Every tensor the Fisher diagonals cover, with its shape, in the model's order.
    public var parameters: [(name: String, shape: [Int])] = []
    /// Spiking networks: each spiking node's spikes per split.
    public var spikes: SpikeCounts?

    /// Measures Fisher diagonals (with `fisher`) and activity (with `activity`) of `network` on
    /// the forget, retain and full splits, one pass over each split that needs one, keeping the
    /// forget and retain outputs with `outputs`.
    public static func measure(_ network: Network, on splits: DataSplits, fisher: FisherMode?, activity: Bool,
                               outputs: Bool = false, logits: Bool = false) throws -> MeasuredStatistics {
        if splits.full == nil, let fisher, fisher != .exact {
            throw EngineError.data(path: splits.forget.data.path,
                                   problem: "mini-batch Fisher of the full set depends on its order: give the full training set with --data")
        }
        func run(_ part: DataPart, activity: Bool, outputs: Bool) throws -> SplitMeasures {
            try part.runner(network).measure(part.split, fisher: fisher, activity: activity, outputs: outputs, logits: logits)
        }
        let forget = try run(splits.forget, activity: activity, outputs: outputs)
        let retain = try run(splits.retain, activity: activity, outputs: outputs)
        let isUnion = splits.full == nil || splits.fullIsUnion
        let union = isUnion ? forget.merged(with: retain) : nil
        var full = union
        if let part = splits.full, !isUnion || (fisher != nil && fisher != .exact) {
            full = try run(part, activity: activity && !isUnion, outputs: false)
            if let union, activity { full!.activity = union.activity }
        }
        var result = MeasuredStatistics(fisherMode: fisher, sizes: splits.sizes.filter { $0.key != .test })
        if fisher != nil {
            result.parameters = network.parameters
            for (split, measured) in [(DataSplit.forget, forget), (.retain, retain), (.full, full!)] {
                result.fisher[split] = measured.fisher!.diagonals
            }
        }
        if activity { result.activity = Activity(forget: forget, retain: retain, full: full!) }
        if logits {
            for (split, measured) in [(DataSplit.forget, forget), (.retain, retain), (.full, full!)] {
                result.logits[split] = measured.logits
            }
        }
        if outputs { result.outputs = [.forget: (forget.outputs, forget.labels), .retain: (retain.outputs, retain.labels)] }
        return result
    }

    /// Per-unit activity on each split (mean activation of each layer's inputs and outputs) and the
    /// correlation the spiking-network paper selects neurons by, discretised: the share of each
    /// unit's activity that occurs on the forget data (0 for a unit never active).
    public struct Activity: Sendable {
        public var mean: [DataSplit: [String: (pre: [Double], post: [Double])]] = [:]
        public var correlation: [String: (pre: [Double], post: [Double])] = [:]
        public var samples: [DataSplit: Int] = [:]

        init() {}

        init(forget: SplitMeasures, retain: SplitMeasures, full: SplitMeasures) {
            for (split, measured) in [(DataSplit.forget, forget), (.retain, retain), (.full, full)] {
                let n = Double(max(measured.samples, 1))
                samples[split] = measured.samples
                mean[split] = measured.activity.mapValues { ($0.pre.map { $0 / n }, $0.post.map { $0 / n }) }
            }
            func share(_ part: [Double], _ whole: [Double]) -> [Double] { zip(part, whole).map { $1 > 0 ? $0 / $1 : 0 } }
            for (layer, sums) in forget.activity {
                guard let whole = full.activity[layer] else { continue }
                correlation[layer] = (share(sums.pre, whole.pre), share(sums.post, whole.post))
            }
        }
    }

    /// Every array these statistics hold, by its name in the statistics-file schema, with its shape.
    public var entries: [(name: String, values: [Double], shape: [Int])] {
        var entries: [(String, [Double], [Int])] = []
        if let activity {
            for split in activity.mean.keys.sorted() {
                for (layer, values) in activity.mean[split]!.sorted(by: { $0.key < $1.key }) {
                    entries.append((StatisticsSchema.activity(split, layer: layer, side: .pre), values.pre, [values.pre.count]))
                    entries.append((StatisticsSchema.activity(split, layer: layer, side: .post), values.post, [values.post.count]))
                }
            }
            for (layer, values) in activity.correlation.sorted(by: { $0.key < $1.key }) {
                entries.append((StatisticsSchema.correlation(layer: layer, side: .pre), values.pre, [values.pre.count]))
                entries.append((StatisticsSchema.correlation(layer: layer, side: .post), values.post, [values.post.count]))
            }
        }
        for split in logits.keys.sorted() {
            let range = logits[split]!
            entries.append((StatisticsSchema.logits(split, .min), range.minimum, [range.minimum.count]))
            entries.append((StatisticsSchema.logits(split, .max), range.maximum, [range.maximum.count]))
        }
        if let spikes {
            for split in spikes.mean.keys.sorted() {
                for (node, shape) in spikes.nodes {
                    guard let mean = spikes.mean[split]?[node] else { continue }
                    entries.append((StatisticsSchema.spikes(split, node: node, .count), mean, shape))
                    entries.append((StatisticsSchema.spikes(split, node: node, .rate), mean.map { $0 / Double(spikes.steps) }, shape))
                }
            }
        }
        for split in [DataSplit.forget, .retain, .full] {
            guard let tensors = fisher[split] else { continue }
            for (name, shape) in parameters where tensors[name] != nil {
                entries.append((StatisticsSchema.fisher(split, tensor: name), tensors[name]!, shape))
            }
        }
        return entries
    }
}

/// Writes measured statistics in ckptforget's statistics-file schema (`StatisticsSchema`), with
/// attributes saying how they were computed.
public enum StatisticsFileWriter {
    /// Writes `statistics` to `path` through `output`.
    public static func write(_ statistics: MeasuredStatistics, provenance: [String: String], to path: String,
                             in output: OutputTransaction) throws {
        let writer = try HDF5Writer(finalPath: path, in: output)
        for entry in statistics.entries {
            try writer.write(entry.name, entry.values, shape: entry.shape, asFloat32: true)
        }
        if let activity = statistics.activity {
            for split in activity.mean.keys.sorted() {
                try writer.setAttribute("samples", .integer(activity.samples[split] ?? 0), on: StatisticsSchema.activityGroup(split))
            }
            if !activity.correlation.isEmpty {
                try writer.setAttribute("samples", .integer(activity.samples[.forget] ?? 0), on: StatisticsSchema.correlationGroup)
            }
        }
        if let spikes = statistics.spikes {
            for split in spikes.mean.keys.sorted() {
                let group = StatisticsSchema.spikesGroup(split)
                try writer.setAttribute("samples", .integer(spikes.samples[split] ?? 0), on: group)
                try writer.setAttribute("steps", .integer(spikes.steps), on: group)
                try writer.setAttribute("simulation", .string(spikes.simulation), on: group)
            }
        }
        try writer.setAttribute("format", .string(StatisticsSchema.format))
        try writer.setAttribute("version", .integer(StatisticsSchema.version))
        for (key, value) in provenance.sorted(by: { $0.key < $1.key }) { try writer.setAttribute(key, .string(value)) }
        if let mode = statistics.fisherMode {
            for split in statistics.fisher.keys.sorted() {
                let group = StatisticsSchema.fisherGroup(split)
                try writer.setAttribute("samples", .integer(statistics.sizes[split] ?? 0), on: group)
                try writer.setAttribute("mode", .string(mode == .exact ? "exact" : "batch"), on: group)
                try writer.setAttribute("batch_size", .integer(mode.batchSize), on: group)
                try writer.setAttribute("loss", .string("sparse_categorical_crossentropy"), on: group)
            }
        }
    }
}
