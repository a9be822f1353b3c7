import Checkpoint
import Foundation

/// Computes Fisher diagonals for the forget, retain and full splits and writes them in
/// ckptforget's statistics-file schema (see STATISTICS FILES in man ckptforget):
/// `/fisher/<split>/<tensor>` with attributes saying how they were computed.
public enum StatisticsFileWriter {
    /// A split and the data it indexes into.
    public struct Part {
        public let runner: NetworkRunner
        public let split: Split

        public init(runner: NetworkRunner, split: Split) {
            self.runner = runner
            self.split = split
        }
    }

    /// The splits to measure.
    public struct Splits {
        public let forget: Part, retain: Part
        /// The full training set; nil when only forget and retain are given (it is then their union).
        public let full: Part?
        /// Whether `full` holds exactly the samples of forget and retain (the same data split by class
        /// or ids). Its exact Fisher sums and activity are then the sums of the two, with no pass of
        /// their own; mini-batch Fisher depends on the order of the full set, so it still takes one.
        public let fullIsUnion: Bool

        public init(forget: Part, retain: Part, full: Part?, fullIsUnion: Bool) {
            self.forget = forget
            self.retain = retain
            self.full = full
            self.fullIsUnion = fullIsUnion
        }

        public var sizes: [String: Int] {
            let (f, r) = (forget.split.indices.count, retain.split.indices.count)
            return ["forget": f, "retain": r, "full": full?.split.indices.count ?? f + r]
        }
    }

    /// Fisher diagonals by split name and tensor name, and activity.
    public struct Statistics {
        public var fisher: [String: [String: [Double]]] = [:]
        public var activity: Activity?
        /// The model's outputs and the labels on the forget and retain splits, in order, when asked
        /// for: the same forward passes serve to measure the model.
        public var outputs: [String: (values: [Float], labels: [Int])] = [:]
    }

    /// Measures Fisher diagonals (with `fisher`) and activity (with `activity`) on the three splits,
    /// one pass over each split that needs one, keeping the forget and retain outputs with `outputs`.
    public static func measure(_ splits: Splits, fisher: FisherMode?, activity: Bool, outputs: Bool = false) throws -> Statistics {
        if splits.full == nil, let fisher, fisher != .exact {
            throw EngineError.data(path: splits.forget.runner.data.path,
                                   problem: "mini-batch Fisher of the full set depends on its order: give the full training set with --data")
        }
        let forget = try splits.forget.runner.measure(splits.forget.split, fisher: fisher, activity: activity, outputs: outputs)
        let retain = try splits.retain.runner.measure(splits.retain.split, fisher: fisher, activity: activity, outputs: outputs)
        let isUnion = splits.full == nil || splits.fullIsUnion
        let union = isUnion ? forget.merged(with: retain) : nil
        var full = union
        if let part = splits.full, !isUnion || (fisher != nil && fisher != .exact) {
            full = try part.runner.measure(part.split, fisher: fisher, activity: activity && !isUnion)
            if let union, activity { full!.activity = union.activity }
        }
        var result = Statistics()
        if fisher != nil {
            for (name, measured) in [("forget", forget), ("retain", retain), ("full", full!)] {
                result.fisher[name] = measured.fisher!.diagonals
            }
        }
        if activity { result.activity = Activity(forget: forget, retain: retain, full: full!) }
        if outputs { result.outputs = ["forget": (forget.outputs, forget.labels), "retain": (retain.outputs, retain.labels)] }
        return result
    }

    /// Per-unit activity on each split (`/activity/<split>/<layer>/{pre,post}`: mean activation of
    /// the layer's inputs and outputs) and the correlation the spiking-network paper selects
    /// neurons by, discretised: the share of each unit's activity that occurs on the forget data
    /// (`/correlation/forget/<layer>/{pre,post}`; 0 for a unit never active).
    public struct Activity: Sendable {
        public var mean: [String: [String: (pre: [Double], post: [Double])]] = [:]
        public var correlation: [String: (pre: [Double], post: [Double])] = [:]
        public var samples: [String: Int] = [:]

        init(forget: SplitMeasures, retain: SplitMeasures, full: SplitMeasures) {
            for (split, measured) in [("forget", forget), ("retain", retain), ("full", full)] {
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

    /// Writes `statistics` (from `measure`) to `path` through `output`; `sizes` are the split sizes.
    public static func write(_ statistics: Statistics, network: Network, mode: FisherMode,
                             sizes: [String: Int], provenance: [String: String], to path: String, in output: OutputTransaction) throws {
        let writer = try HDF5Writer(finalPath: path, in: output)
        if let activity = statistics.activity {
            for (split, layers) in activity.mean.sorted(by: { $0.key < $1.key }) {
                for (layer, values) in layers.sorted(by: { $0.key < $1.key }) {
                    try writer.write("activity/\(split)/\(layer)/pre", values.pre, shape: [values.pre.count], asFloat32: true)
                    try writer.write("activity/\(split)/\(layer)/post", values.post, shape: [values.post.count], asFloat32: true)
                }
                try writer.setAttribute("samples", .integer(activity.samples[split] ?? 0), on: "activity/\(split)")
            }
            for (layer, values) in activity.correlation.sorted(by: { $0.key < $1.key }) {
                try writer.write("correlation/forget/\(layer)/pre", values.pre, shape: [values.pre.count], asFloat32: true)
                try writer.write("correlation/forget/\(layer)/post", values.post, shape: [values.post.count], asFloat32: true)
            }
            if !activity.correlation.isEmpty { try writer.setAttribute("samples", .integer(activity.samples["forget"] ?? 0), on: "correlation/forget") }
        }
        try writer.setAttribute("format", .string("ckptforget-stats"))
        try writer.setAttribute("version", .integer(1))
        for (key, value) in provenance.sorted(by: { $0.key < $1.key }) { try writer.setAttribute(key, .string(value)) }
        let shapes = Dictionary(network.parameters.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        for split in ["forget", "retain", "full"] {
            guard let tensors = statistics.fisher[split] else { continue }
            let group = "fisher/\(split)"
            for name in network.parameters.map(\.name) where tensors[name] != nil {
                try writer.write("\(group)/\(name)", tensors[name]!, shape: shapes[name]!, asFloat32: true)
            }
            try writer.setAttribute("samples", .integer(sizes[split] ?? 0), on: group)
            try writer.setAttribute("mode", .string(mode == .exact ? "exact" : "batch"), on: group)
            try writer.setAttribute("batch_size", .integer(mode.batchSize), on: group)
            try writer.setAttribute("loss", .string("sparse_categorical_crossentropy"), on: group)
        }
    }
}
