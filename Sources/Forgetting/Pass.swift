import Checkpoint
import Engine

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

/// One forgetting pass: a name, parsed parameters, what it reads, and a choice of tensors. A pass
/// is either a `TensorPass` (edits one tensor at a time while the checkpoint streams) or a
/// `ModelPass` (runs the model before anything is written).
///
/// Adding a pass is one file with a type conforming to one of those protocols and one line in `PassRegistry`.
public protocol Pass: Sendable {
    /// The name used in `--pass NAME...`.
    static var name: String { get }
    /// Usage as shown by `--help`, e.g. `dampen:ALPHA`.
    static var usage: String { get }
    /// One line on what it does, for `--help`.
    static var summary: String { get }
    /// The `KEY`s it accepts (the bare first argument counts as the first of them).
    static var parameterNames: [String] { get }

    init(_ arguments: PassArguments) throws

    /// What it reads besides the tensors (checked at plan time; the run computes or loads it).
    var requirements: Set<PassRequirement> { get }
    /// The parsed parameters, in a fixed order, for reports and records.
    var parameters: [(name: String, value: String)] { get }

    /// Names of the tensors this pass edits (before `@GLOB` restriction).
    func tensors(in context: PlanContext) throws -> [String]
}

extension Pass {
    public var name: String { Self.name }
    public var requirements: Set<PassRequirement> { [] }
}

/// What a tensor pass sees when it edits one tensor: its layout, the target, and the companions
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

/// A pass that edits one tensor at a time while the writer streams the checkpoint.
public protocol TensorPass: Pass {
    /// Called once before any output is written with every tensor it will edit, for passes that
    /// need a view over all of them (a global threshold); returns the pass ready to apply.
    func prepared(for tensors: [String], target: ForgetTarget, reading companions: (String) throws -> (Tensor, Companions)) throws -> any TensorPass

    /// Edits one tensor in place.
    func apply(to tensor: inout Tensor, context: PassContext) throws
}

extension TensorPass {
    public func prepared(for tensors: [String], target: ForgetTarget, reading companions: (String) throws -> (Tensor, Companions)) throws -> any TensorPass {
        self
    }
}

/// What a model pass gets: the model the engine rebuilt from the file (with the edits of the passes
/// before it), the run's data splits, the target, and the tensors it may change.
public struct ModelPassContext {
    public let model: any ClassifierModel
    public let data: DataSplits
    public let target: ForgetTarget
    /// Its selected tensors (after `@GLOB`): it returns values for these only; the rest stay frozen.
    public let tensors: [String]

    public init(model: any ClassifierModel, data: DataSplits, target: ForgetTarget, tensors: [String]) {
        self.model = model
        self.data = data
        self.target = target
        self.tensors = tensors
    }

    /// The Keras network, for the passes that train it (the engine computes no gradient of a spiking network).
    func trainableNetwork(for pass: String) throws -> Network {
        guard let network = model as? Network else {
            throw PassError.wrongModel(pass: pass, path: model.path, needs: "trains with gradients, which the engine computes for Keras models only")
        }
        return network
    }
}

/// What a model pass did: new values for the tensors it changed (float32, in the tensors' own
/// shapes; the writer rounds them to each tensor's dtype), and a description of its work for the
/// records (steps, losses, why it stopped).
public struct ModelPassResult: Sendable {
    public var values: [String: [Float]]
    public var details: JSONValue

    public init(values: [String: [Float]], details: JSONValue = .null) {
        self.values = values
        self.details = details
    }
}

/// A pass that runs the model on data before any byte is written (gradient ascent, fine-tuning,
/// adaptive thresholds) and returns new values for the tensors it changes; the writer streams
/// those in place of the originals, and the records measure them like any other edit. Its memory
/// is the model's tensors: the one exception to "bounded by the largest tensor".
public protocol ModelPass: Pass {
    func run(_ context: ModelPassContext) throws -> ModelPassResult
}
