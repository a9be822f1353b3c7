import Checkpoint

/// `zero` — sets the forget classes' output weights and bias to zero (the class can then only win
/// by ties), the simplest class-removal baseline.
struct ZeroPass: TensorPass {
    static let name = "zero"
    static let usage = "zero"
    static let summary = "set the forget classes' output weights and bias to 0"
    static let parameterNames: [String] = []

    init(_ arguments: PassArguments) throws {}

    var parameters: [(name: String, value: String)] { [] }

    func tensors(in context: PlanContext) throws -> [String] {
        try ClassUnits.tensors(in: context, pass: Self.name)
    }

    func apply(to tensor: inout Tensor, context: PassContext) throws {
        tensor.update(ClassUnits.indices(of: tensor, context: context)) { _ in 0 }
    }
}
