import Checkpoint

/// A batch of activations: row-major float32 values whose first axis is the sample (NHWC for images).
public struct Batch: Sendable, Equatable {
    public var values: [Float]
    public var shape: [Int]

    public init(values: [Float], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "batch of \(values.count) values for shape \(shape)")
        self.values = values
        self.shape = shape
    }

    public var samples: Int { shape[0] }
    /// Values per sample.
    public var width: Int { shape.dropFirst().reduce(1, *) }
}

/// Why a model or a data set cannot be used by the engine (exit 2).
public enum EngineError: Error, Equatable, CustomStringConvertible {
    case noModelConfig(path: String)
    case unsupportedLayer(path: String, layer: String, className: String)
    case unsupportedOption(path: String, layer: String, option: String)
    /// A functional model's graph the engine cannot run (several inputs or outputs, a cycle, a missing layer).
    case unsupportedGraph(path: String, problem: String)
    case missingWeights(path: String, layer: String, role: String)
    case shapeMismatch(path: String, layer: String, expected: [Int], actual: [Int])
    case weightShape(path: String, layer: String, tensor: String, expected: String, actual: [Int])
    case data(path: String, problem: String)
    case labelOutOfRange(path: String, label: Int, sample: Int, classes: Int)
    case npy(path: String, NPYProblem)
    case idx(path: String, IDXProblem)
    case lossNeedsSoftmax(path: String)
    case unknownWeight(path: String, tensor: String)

    /// What can still be done with a model the engine cannot run.
    static let withoutTheEngine = "the file can still be edited by the passes that need no model (suppress, dampen, zero, randomize; "
        + "prune, negate, revert with --pre; ssd and fisher-noise with Fisher diagonals computed by your framework and given with --stats, "
        + "see STATISTICS FILES in man ckptforget), run without --data"

    public var description: String {
        switch self {
        case .noModelConfig(let path):
            "\(path): no Keras model_config, so the engine cannot rebuild the model; give the full-model .h5 (model.save), or compute Fisher diagonals yourself and pass them with --stats (see STATISTICS FILES in man ckptforget)"
        case .unsupportedLayer(let path, let layer, let className):
            "\(path): layer '\(layer)' is \(English.withArticle(className)), which the engine does not run (DATA AND THE ENGINE in man ckptforget lists the layers it runs); \(Self.withoutTheEngine)"
        case .unsupportedOption(let path, let layer, let option):
            "\(path): layer '\(layer)': \(option) is not supported by the engine; \(Self.withoutTheEngine)"
        case .unsupportedGraph(let path, let problem):
            "\(path): the model \(problem), which the engine does not run; \(Self.withoutTheEngine)"
        case .missingWeights(let path, let layer, let role):
            "\(path): layer '\(layer)' has no \(role) in the file"
        case .shapeMismatch(let path, let layer, let expected, let actual):
            "\(path): layer '\(layer)' expects input of shape \(expected), got \(actual)"
        case .weightShape(let path, let layer, let tensor, let expected, let actual):
            "\(path): layer '\(layer)': \(tensor) has shape \(actual), expected \(expected); the file's weights do not fit its model_config"
        case .data(let path, let problem):
            "\(path): \(problem)"
        case .labelOutOfRange(let path, let label, let sample, let classes):
            classes > 0 ? "\(path): label \(label) of sample \(sample) is outside the model's \(classes) classes (0...\(classes - 1))"
                : "\(path): label \(label) of sample \(sample): the model has no output units (no classes)"
        case .npy(let path, let problem):
            "\(path): \(problem)"
        case .idx(let path, let problem):
            "\(path): \(problem)"
        case .unknownWeight(let path, let tensor):
            "\(path): the model has no tensor '\(tensor)'"
        case .lossNeedsSoftmax(let path):
            "\(path): the model does not end in a softmax, so the cross-entropy whose Fisher diagonals SSD uses is not defined"
        }
    }
}
