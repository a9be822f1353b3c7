/// The splits of the data a run measures on: the samples to forget, the rest of the training set,
/// all of it, and held-out samples. Statistics files, records and `--require` use these names.
public enum DataSplit: String, Sendable, CaseIterable, Comparable {
    case forget, retain, full, test

    public static func < (a: DataSplit, b: DataSplit) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A layer's input units (`pre`) or output units (`post`).
public enum UnitSide: String, Sendable, CaseIterable {
    case pre, post
}

/// ckptforget's statistics-file schema (man ckptforget, STATISTICS FILES; Fixtures/STATS.md), in
/// the one place its writer (the engine) and its reader (the passes) both take it from:
///
///     /fisher/<split>/<tensor name>          same shape as the tensor (split: forget, retain, full)
///     /activity/<split>/<layer>/{pre,post}   mean activation of the layer's inputs / outputs
///     /correlation/forget/<layer>/{pre,post} share of each unit's activity on the forget data
///     /logits/<split>/{min,max}              each class's lowest and highest logit (the input of the
///                                            final softmax or sigmoid) over the split
///     /spikes/<split>/<node>/{count,rate}    spiking networks: each neuron's mean spikes per sample
///                                            over all steps, and per step
///
/// Root attributes `format` = "ckptforget-stats" and `version` = 1.
public enum StatisticsSchema {
    public static let format = "ckptforget-stats"
    public static let version = 1
    /// The top-level groups a statistics file may hold.
    public static let groups = ["fisher", "activity", "correlation", "logits", "spikes"]

    public static func fisherGroup(_ split: DataSplit) -> String { "fisher/\(split.rawValue)" }
    public static func fisher(_ split: DataSplit, tensor: String) -> String { "\(fisherGroup(split))/\(tensor)" }
    public static func activityGroup(_ split: DataSplit) -> String { "activity/\(split.rawValue)" }
    public static func activity(_ split: DataSplit, layer: String, side: UnitSide) -> String {
        "\(activityGroup(split))/\(layer)/\(side.rawValue)"
    }
    public static func logits(_ split: DataSplit, _ bound: Bound) -> String { "logits/\(split.rawValue)/\(bound.rawValue)" }
    public static let correlationGroup = "correlation/forget"

    /// The lowest or highest value over a split.
    public enum Bound: String, Sendable { case min, max }
    public static func correlation(layer: String, side: UnitSide) -> String { "\(correlationGroup)/\(layer)/\(side.rawValue)" }

    /// A spiking node's mean spikes per sample (`count`) or per sample and step (`rate`).
    public enum SpikeMeasure: String, Sendable { case count, rate }
    public static func spikesGroup(_ split: DataSplit) -> String { "spikes/\(split.rawValue)" }
    public static func spikes(_ split: DataSplit, node: String, _ measure: SpikeMeasure) -> String {
        "\(spikesGroup(split))/\(node)/\(measure.rawValue)"
    }
}
