import Checkpoint

/// What a pass reads besides the tensor it edits; the run derives what to load or compute from these.
public enum PassRequirement: Hashable, Sendable {
    /// The snapshot from before the forget data was learned (`--pre`), for ΔW = W − W_pre.
    case preSnapshot
    /// Fisher diagonals of the loss on one split: from `--stats`, or computed from `--data`.
    case fisher(DataSplit)
    /// Per-unit correlation of activity with the forget data: from `--stats`, or computed from `--data`.
    case correlation
    /// Samples of one split, to run the model on (model passes).
    case data(DataSplit)
    /// The model's logits over the data (`/logits/full`), when there is data or a statistics file
    /// that has them; a pass that asks for them works without them too.
    case logitsIfAvailable

    /// Whether it is read from a statistics file (or computed into one).
    public var isStatistic: Bool {
        switch self {
        case .fisher, .correlation, .logitsIfAvailable: true
        case .preSnapshot, .data: false
        }
    }

    /// Whether a run may go without it.
    public var isOptional: Bool { self == .logitsIfAvailable }
}

/// The files beside the checkpoint that some passes read: the snapshot from before the forget
/// data was learned (`--pre`) and statistics (`--stats`, or computed from data by the run).
public struct PassInputs {
    public var pre: (any CheckpointFile)?
    public var statistics: (any StatisticsSource)?

    public init(pre: (any CheckpointFile)? = nil, statistics: (any StatisticsSource)? = nil) {
        self.pre = pre
        self.statistics = statistics
    }
}

/// The companions of one tensor that its passes asked for, loaded just before they run. Those as
/// large as the tensor are read a slice at a time (`slices(of:)`, `snapshot(_:of:)`).
public struct Companions: Sendable {
    /// The tensor's values as read from the input, kept when a pass before the one running may have
    /// changed the tensor; nil when none did, and the tensor's own values are the input's.
    public var original: TensorValues?
    /// The same tensor in the `--pre` snapshot.
    public var pre: CompanionTensor?
    /// Fisher diagonals by split, same shape as the tensor.
    public var fisher: [DataSplit: CompanionTensor] = [:]
    /// Correlation of the layer's input units (`pre`) and output units (`post`) with the forget data.
    public var correlationPre: TensorValues?
    public var correlationPost: TensorValues?
    /// Each class's lowest logit over the data (`/logits/full/min`), when available.
    public var logitMinimum: TensorValues?
    /// The most elements a pass takes from the companions at a time (tests make it small).
    public var sliceSize = Companions.standardSliceSize

    public init() {}
}
