import Checkpoint

/// `suppress[:margin=M]` — forgets a class so that the model never predicts it: the forget
/// classes' output weights are set to 0, so their logit is their bias for every input, and the bias
/// is set below every other class's logit: with data (`--data`, or `--stats` with
/// `/logits/full/min`), the lowest logit any other class reaches over the data minus M (default 1);
/// without, −10000 (see `BiasFloor`). Needs an output layer with a bias.
struct SuppressPass: ClassUnitPass {
    static let name = "suppress"
    static let usage = "suppress[:margin=M]"
    static let summary = "zero the forget classes' output weights and set their bias below every other class's logit"
    static let parameterNames = ["margin"]

    var floor: BiasFloor?

    init(_ arguments: PassArguments) throws {
        floor = try BiasFloor.parse(arguments, always: true)
    }

    var setsBiasFloor: Bool { true }
    var requirements: Set<PassRequirement> { [.logitsIfAvailable] }
    var parameters: [(name: String, value: String)] { (floor?.parameters ?? []).filter { $0.name != "bias" } }

    func tensors(in context: PlanContext) throws -> [String] {
        let tensors = try ClassUnits.tensors(in: context, pass: Self.name)
        let layer = try context.outputLayer()
        guard layer.unitTensors.contains(where: { $0.role == .bias }) else {
            throw PassError.needsBias(pass: Self.name, layer: layer.name, path: context.layout.path)
        }
        return tensors
    }

    func prepared(for tensors: [String], target: ForgetTarget, reading companions: (String) throws -> (Tensor, Companions)) throws -> any TensorPass {
        var pass = self
        pass.floor = try preparedFloor(floor, for: tensors, classes: target.classes, reading: companions)
        return pass
    }

    func apply(to tensor: inout Tensor, context: PassContext) throws {
        guard !ClassUnits.applyFloor(floor, to: &tensor, context: context) else { return }
        tensor.update(ClassUnits.indices(of: tensor, context: context)) { _ in 0 }
    }
}
