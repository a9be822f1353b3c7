import Checkpoint

/// `zero[:bias=floor]` — sets the forget classes' output weights and bias to zero, the simplest
/// class-removal baseline (the zeroing notebooks). The class's logit becomes its bias, 0: on a
/// softmax head whose other logits are negative that makes it *more* likely. With `bias=floor` the
/// bias is set below every other class's logit instead (see `BiasFloor`), as `suppress` does.
struct ZeroPass: ClassUnitPass {
    static let name = "zero"
    static let usage = "zero[:bias=floor,margin=M]"
    static let summary = "set the forget classes' output weights and bias to 0 (bias=floor: bias below every other logit)"
    static let parameterNames = ["bias", "margin"]

    var floor: BiasFloor?

    init(_ arguments: PassArguments) throws {
        floor = try BiasFloor.parse(arguments)
    }

    var setsBiasFloor: Bool { floor != nil }
    var requirements: Set<PassRequirement> { floor == nil ? [] : [.logitsIfAvailable] }
    var parameters: [(name: String, value: String)] { floor?.parameters ?? [] }

    func tensors(in context: PlanContext) throws -> [String] {
        try ClassUnits.tensors(in: context, pass: Self.name)
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
