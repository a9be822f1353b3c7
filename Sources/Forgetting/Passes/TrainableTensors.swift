import Checkpoint

/// The tensors that training moves and the snapshot and statistics passes act on by default:
/// kernels, biases, embeddings and normalization scales and shifts, never optimizer state or
/// running statistics.
enum TrainableTensors {
    static let roles: Set<TensorRole> = [.kernel, .bias, .embedding, .gamma, .beta]

    static func select(in context: PlanContext) -> [String] {
        context.layout.layers.flatMap(\.tensors).filter { roles.contains($0.role) && $0.info.dtype.isEditable }.map(\.info.name)
    }

    /// Those of them for which the statistics file has the entry `name(tensor)`.
    static func select(in context: PlanContext, having name: (StatisticsFile, String) -> String) -> [String] {
        guard let statistics = context.inputs.statistics else { return select(in: context) }
        return select(in: context).filter { statistics.info(name(statistics, $0)) != nil }
    }
}
