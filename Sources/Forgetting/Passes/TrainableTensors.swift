import Checkpoint

/// The tensors that training moves and the snapshot and statistics passes act on by default:
/// kernels, biases, embeddings and normalization scales and shifts, never optimizer state or
/// running statistics.
enum TrainableTensors {
    static let roles: Set<TensorRole> = [.kernel, .bias, .embedding, .gamma, .beta]

    static func select(in context: PlanContext) -> [String] {
        context.layout.layers.flatMap(\.tensors).filter { roles.contains($0.role) && $0.info.dtype.isEditable }.map(\.info.name)
    }

    /// Those of them for which the statistics have the entry `name(tensor)` (all of them while the
    /// statistics are still to be computed from data).
    static func select(in context: PlanContext, having name: (String) -> String) -> [String] {
        guard let statistics = context.inputs.statistics else { return select(in: context) }
        return select(in: context).filter { statistics.info(name($0)) != nil }
    }
}
