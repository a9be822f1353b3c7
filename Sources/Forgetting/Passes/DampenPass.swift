import Checkpoint

/// `dampen:ALPHA[,bias=floor]` — synaptic dampening of a class (the seed slides): the output
/// weights and bias of each forget class are multiplied by ALPHA (0 ≤ ALPHA ≤ 1), leaving every
/// other weight as it was. The class's logit moves toward 0, which on a softmax head whose other
/// logits are negative can make it more likely; with `bias=floor` its bias is set below every
/// other class's logit instead of scaled (see `BiasFloor`).
struct DampenPass: ClassUnitPass, TunablePass {
    static let name = "dampen"
    static let usage = "dampen:ALPHA|auto[,bias=floor,margin=M]"
    static let summary = "scale the forget classes' output weights and bias by ALPHA (0..1) (bias=floor: bias below every other logit)"
    static let parameterNames = ["alpha", "bias", "margin"]

    var alpha: Double
    var floor: BiasFloor?
    /// `dampen:auto`: the run searches for the weakest alpha (closest to 1) that meets the policy.
    var autoAlpha = false

    init(_ arguments: PassArguments) throws {
        autoAlpha = arguments.isAuto("alpha", positional: true)
        alpha = autoAlpha ? 1 : try arguments.double("alpha", positional: true, in: 0...1)
        floor = try BiasFloor.parse(arguments)
    }

    var search: StrengthScale? {
        autoAlpha ? StrengthScale(parameter: "alpha", grid: [0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.001, 0]) : nil
    }

    func with(_ value: Double) throws -> any Pass {
        var pass = self
        pass.alpha = value
        pass.autoAlpha = false
        return pass
    }

    var setsBiasFloor: Bool { floor != nil }
    var requirements: Set<PassRequirement> { floor == nil ? [] : [.logitsIfAvailable] }
    var parameters: [(name: String, value: String)] { [("alpha", autoAlpha ? "auto" : "\(alpha)")] + (floor?.parameters ?? []) }

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
        let alpha = alpha
        tensor.update(ClassUnits.indices(of: tensor, context: context)) { $0 * alpha }
    }
}
