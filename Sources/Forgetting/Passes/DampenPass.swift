import Checkpoint

/// `dampen:ALPHA` — synaptic dampening of a class: the output weights and bias of each forget class
/// are multiplied by ALPHA (0 ≤ ALPHA ≤ 1), leaving every other weight as it was.
struct DampenPass: TensorPass {
    static let name = "dampen"
    static let usage = "dampen:ALPHA"
    static let summary = "scale the forget classes' output weights and bias by ALPHA (0..1)"
    static let parameterNames = ["alpha"]

    let alpha: Double

    init(_ arguments: PassArguments) throws {
        alpha = try arguments.double("alpha", positional: true, in: 0...1)
    }

    var parameters: [(name: String, value: String)] { [("alpha", "\(alpha)")] }

    func tensors(in context: PlanContext) throws -> [String] {
        try ClassUnits.tensors(in: context, pass: Self.name)
    }

    func apply(to tensor: inout Tensor, context: PassContext) throws {
        let alpha = alpha
        tensor.update(ClassUnits.indices(of: tensor, context: context)) { $0 * alpha }
    }
}
