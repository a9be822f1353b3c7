import Checkpoint

/// The tensors passes act on when they are not about one class: the trainable ones (kernels,
/// recurrent and depthwise kernels, biases, embeddings, normalization scales and shifts) for the
/// statistics and model passes, and every floating tensor but optimizer state for the snapshot
/// passes, so that `negate:1` gives the whole `--pre` snapshot back.
enum TrainableTensors {
    static let roles: Set<TensorRole> = [.kernel, .recurrentKernel, .depthwiseKernel, .bias, .embedding, .gamma, .beta]

    static func select(in context: PlanContext) -> [String] {
        context.layout.layers.flatMap(\.tensors).filter { roles.contains($0.role) && $0.info.dtype.isEditable }.map(\.info.name)
    }

    /// Those of them for which the statistics have the entry `name(tensor)` (all of them while the
    /// statistics are still to be computed from data).
    static func select(in context: PlanContext, having name: (String) -> String) -> [String] {
        guard let statistics = context.inputs.statistics else { return select(in: context) }
        return select(in: context).filter { statistics.info(name($0)) != nil }
    }

    /// Every floating tensor that is not optimizer state (running statistics, thresholds and tensors
    /// of no known role included), in the layout's order.
    static func everyFloating(in context: PlanContext) -> [String] {
        context.layout.tensors.values.filter { $0.role != .optimizer && $0.info.dtype.isEditable }.map(\.info.name).sorted()
    }
}
