import Checkpoint

/// What one pass did to one tensor, measured on the values as stored (after rounding to the
/// tensor's dtype), so it agrees with a later `diff` of the files.
public struct TensorEdit: Sendable, Equatable {
    public let tensor: String
    public let elementsChanged: Int
    /// L2 norm of the change.
    public let l2: Double
    /// Largest absolute change of one element.
    public let maxAbs: Double
    /// Values computed finite that the dtype could not hold (stored as ±infinity), and values the
    /// pass itself made NaN or infinite.
    public let overflowed: Int, madeNonFinite: Int

    public init(tensor: String, changes: ChangeTally) {
        self.tensor = tensor
        elementsChanged = changes.elementsChanged
        l2 = changes.l2
        maxAbs = changes.maxAbs
        overflowed = changes.overflowed
        madeNonFinite = changes.madeNonFinite
    }

    /// Compares two value arrays of one tensor element by element.
    public init(tensor: String, before: TensorValues, after: TensorValues) {
        self.init(tensor: tensor, changes: ChangeTally(from: before, to: after))
    }
}

/// One pass of a run: its spec, its parameters and what it did to each tensor it touched.
public struct PassReport: Sendable {
    public let name: String
    public let spec: String
    public let parameters: [(name: String, value: String)]
    public var edits: [TensorEdit]
    /// What a model pass reported of its work (steps, losses, stop reason); null for tensor passes.
    public var details: JSONValue = .null

    /// The edits that changed something.
    public var changed: [TensorEdit] { edits.filter { $0.elementsChanged > 0 } }
}

/// What a run did, for the summary on stderr, `--json`, and the records.
public struct RunReport: Sendable {
    public let input: String
    public let output: String
    public let format: CheckpointFormat
    public let outputFiles: [String]
    public let classes: [Int]
    public let outputLayer: String?
    public var passes: [PassReport]
    /// Optimizer-state groups the input has, and those left out of the output.
    public let optimizerGroups: [String]
    public let droppedGroups: [String]
    public let droppedTensors: [TensorInfo]
    /// What the run warned of (also printed), for the records.
    public var warnings: [String] = []
}
