import Checkpoint

/// What is to be forgotten.
public struct ForgetTarget: Sendable {
    /// Class indices (output units of the output layer), in the order given.
    public var classes: [Int]

    public init(classes: [Int] = []) { self.classes = classes }
}

/// What a pass sees when it chooses its tensors: the model layout, the target, the output layer
/// and the extra inputs (`--pre`, `--stats`).
public struct PlanContext {
    public let layout: Layout
    public let target: ForgetTarget
    public let inputs: PassInputs
    /// Resolves the output layer (throws if the file does not say and --output-layer was not given).
    public let outputLayer: () throws -> Layer
}

/// What a pass sees when it edits one tensor: its layout, the target, and the companions
/// (ΔW, Fisher diagonals, correlations) the pass declared in `requirements`.
public struct PassContext: Sendable {
    public let tensor: TensorLayout
    public let target: ForgetTarget
    public let companions: Companions

    public init(tensor: TensorLayout, target: ForgetTarget, companions: Companions = Companions()) {
        self.tensor = tensor
        self.target = target
        self.companions = companions
    }
}

/// One forgetting pass: a name, parsed parameters, a choice of tensors, and an edit of one tensor.
///
/// Adding a pass is one file with a type conforming to this protocol and one line in `PassRegistry`.
public protocol ForgettingPass: Sendable {
    /// The name used in `--pass NAME...`.
    static var name: String { get }
    /// Usage as shown by `--help`, e.g. `dampen:ALPHA`.
    static var usage: String { get }
    /// One line on what it does, for `--help`.
    static var summary: String { get }
    /// The `KEY`s it accepts (the bare first argument counts as the first of them).
    static var parameterNames: [String] { get }

    init(_ arguments: PassArguments) throws

    /// What it reads besides the tensor (checked at plan time, loaded per tensor).
    var requirements: Set<PassRequirement> { get }

    /// Called once before any output is written with every tensor it will edit, for passes that
    /// need a view over all of them (a global threshold); returns the pass ready to apply.
    func prepared(for tensors: [String], reading companions: (String) throws -> (Tensor, Companions)) throws -> any ForgettingPass
    /// The parsed parameters, in a fixed order, for reports and records.
    var parameters: [(name: String, value: String)] { get }

    /// Names of the tensors this pass edits (before `@GLOB` restriction).
    func tensors(in context: PlanContext) throws -> [String]

    /// Edits one tensor in place.
    func apply(to tensor: inout Tensor, context: PassContext) throws
}

extension ForgettingPass {
    public var name: String { Self.name }
    public var requirements: Set<PassRequirement> { [] }

    public func prepared(for tensors: [String], reading companions: (String) throws -> (Tensor, Companions)) throws -> any ForgettingPass {
        self
    }
}
