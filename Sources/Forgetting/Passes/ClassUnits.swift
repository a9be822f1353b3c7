import Checkpoint

/// The output units of the forget classes: shared by the passes that edit a class's weights
/// (`dampen`, `zero`, `randomize`). They touch the output layer's kernel (a Keras kernel's
/// column, a PyTorch weight's row) and its bias entry, nothing else.
enum ClassUnits {
    /// The output layer's kernel and bias, after checking every class is one of its units.
    static func tensors(in context: PlanContext, pass: String) throws -> [String] {
        guard !context.target.classes.isEmpty else { throw PassError.needsClass(pass: pass) }
        let layer = try context.outputLayer()
        let units = layer.outputUnits ?? 0
        if let bad = context.target.classes.first(where: { $0 >= units }) {
            throw PassError.classOutOfRange(class: bad, layer: layer.name, units: units, path: context.layout.path)
        }
        return layer.unitTensors.map(\.info.name)
    }

    /// The flat indices of every forget class's slice of `tensor`.
    static func indices(of tensor: Tensor, context: PassContext) -> [Int] {
        guard let axis = context.tensor.classAxis else { return [] }
        return Array(Set(context.target.classes)).sorted().flatMap { AxisSlice(shape: tensor.shape, axis: axis, index: $0) }
    }
}
