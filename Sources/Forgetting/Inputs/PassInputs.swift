import Checkpoint

/// What a pass reads besides the tensor it edits.
public enum PassRequirement: Hashable, Sendable {
    /// The snapshot from before the forget data was learned (`--pre`), for ΔW = W − W_pre.
    case preSnapshot
    /// Fisher diagonals of the loss on one split, from the statistics file (`--stats`).
    case fisher(FisherSplit)
    /// Per-unit correlation of activity with the forget data, from the statistics file.
    case correlation
}

/// The data splits statistics are computed on.
public enum FisherSplit: String, Sendable, CaseIterable {
    case forget, retain, full
}

/// The files beside the checkpoint that some passes read: the snapshot from before the forget
/// data was learned (`--pre`) and a statistics file (`--stats`).
public struct PassInputs {
    public var pre: (any CheckpointFile)?
    public var statistics: StatisticsFile?

    public init(pre: (any CheckpointFile)? = nil, statistics: StatisticsFile? = nil) {
        self.pre = pre
        self.statistics = statistics
    }
}

/// The companions of one tensor that its passes asked for, loaded just before they run.
public struct Companions: Sendable {
    /// The tensor's values as read from the input, before any pass.
    public var original: TensorValues?
    /// The same tensor in the `--pre` snapshot.
    public var pre: TensorValues?
    /// Fisher diagonals by split, same shape as the tensor.
    public var fisher: [FisherSplit: TensorValues] = [:]
    /// Correlation of the layer's input units (`pre`) and output units (`post`) with the forget data.
    public var correlationPre: TensorValues?
    public var correlationPost: TensorValues?

    public init() {}

    /// ΔW at flat index `i`: the input's value minus the `--pre` snapshot's, in Double.
    @inlinable
    public func delta(_ i: Int) -> Double {
        original![i] - pre![i]
    }
}
