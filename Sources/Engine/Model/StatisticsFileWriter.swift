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

    /// The splits to compute. Without `full` (exact mode only) the full set's diagonal is the
    /// sample-weighted mean of forget and retain, which is what it is by definition.
    public struct Splits {
        public let forget: Part, retain: Part
        public let full: Part?

        public init(forget: Part, retain: Part, full: Part?) {
            self.forget = forget
            self.retain = retain
            self.full = full
        }

        public var sizes: [String: Int] {
            let (f, r) = (forget.split.indices.count, retain.split.indices.count)
            return ["forget": f, "retain": r, "full": full?.split.indices.count ?? f + r]
        }
    }

    /// Diagonals by split name and tensor name.
    public static func compute(_ splits: Splits, mode: FisherMode) throws -> [String: [String: [Double]]] {
        let forget = try splits.forget.runner.fisher(splits.forget.split, mode: mode)
        let retain = try splits.retain.runner.fisher(splits.retain.split, mode: mode)
        var result = ["forget": forget, "retain": retain]
        if let full = splits.full {
            result["full"] = try full.runner.fisher(full.split, mode: mode)
        } else {
            guard mode == .exact else {
                throw EngineError.data(path: splits.forget.runner.data.path,
                                       problem: "mini-batch Fisher of the full set depends on its order: give the full training set with --data")
            }
            let (nf, nr) = (Double(splits.forget.split.indices.count), Double(splits.retain.split.indices.count))
            result["full"] = forget.merging(retain) { f, r in zip(f, r).map { (nf * $0 + nr * $1) / (nf + nr) } }
        }
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
    }

    public static func activity(_ splits: Splits) throws -> Activity {
        var result = Activity()
        var sums: [String: [String: (pre: [Double], post: [Double])]] = [:]
        for (name, part) in [("forget", splits.forget), ("retain", splits.retain)] {
            let (layerSums, count) = try part.runner.activitySums(part.split)
            sums[name] = layerSums
            result.samples[name] = count
        }
        if let full = splits.full {
            let (layerSums, count) = try full.runner.activitySums(full.split)
            sums["full"] = layerSums
            result.samples["full"] = count
        } else {
            sums["full"] = sums["forget"]!.merging(sums["retain"]!) { f, r in (zip(f.pre, r.pre).map(+), zip(f.post, r.post).map(+)) }
            result.samples["full"] = result.samples["forget"]! + result.samples["retain"]!
        }
        for (split, layers) in sums {
            let n = Double(max(result.samples[split] ?? 1, 1))
            result.mean[split] = layers.mapValues { ($0.pre.map { $0 / n }, $0.post.map { $0 / n }) }
        }
        func share(_ part: [Double], _ whole: [Double]) -> [Double] { zip(part, whole).map { $1 > 0 ? $0 / $1 : 0 } }
        for (layer, forget) in sums["forget"]! {
            guard let full = sums["full"]?[layer] else { continue }
            result.correlation[layer] = (share(forget.pre, full.pre), share(forget.post, full.post))
        }
        return result
    }

    /// Writes `statistics` (from `compute`) to `path` through `output`; `sizes` are the split sizes.
    public static func write(_ statistics: [String: [String: [Double]]], network: Network, mode: FisherMode,
                             sizes: [String: Int], provenance: [String: String], activity: Activity? = nil,
                             to path: String, in output: OutputTransaction) throws {
        let writer = try HDF5Writer(finalPath: path, in: output)
        if let activity {
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
            guard let tensors = statistics[split] else { continue }
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
