import Checkpoint

/// A model the engine can run on data and measure: a Keras network (`Network`) or a spiking graph
/// (`SpikingModel`). Evaluation, the data splits and the model stage of a run take any of them.
public protocol ClassifierModel: Sendable {
    var path: String { get }
    /// Output units: the classes.
    var classes: Int { get }
    /// What the outputs are.
    var outputKind: ModelOutputKind { get }
    /// Every tensor the model reads, by its name in the checkpoint, sorted.
    var weightNames: [String] { get }
    /// The same model with the named tensors replaced (same sizes).
    func replacingWeights(_ values: [String: [Float]]) throws -> any ClassifierModel
    /// Throws unless the samples of `data` fit the model's input.
    func check(_ data: any LabeledData) throws
    /// The outputs on every sample of `part`, in order, `classes` per sample, with the labels.
    func outputs(on part: DataPart) throws -> (values: [Float], labels: [Int])
}

/// What a model's outputs are. The arg-max is the prediction either way; where probabilities are
/// needed (membership inference, the forget classes' probability), spike counts are divided by
/// their sum per sample (uniform when no output neuron fired) and potentials go through a softmax.
public enum ModelOutputKind: String, Sendable {
    /// A softmax or sigmoid head.
    case probabilities
    /// The output neurons' spike counts.
    case spikeCounts = "spike counts"
    /// The mean membrane potential of non-spiking output neurons (leaky integrators).
    case potentials
}

extension Network: ClassifierModel {
    public var outputKind: ModelOutputKind { .probabilities }

    public func replacingWeights(_ values: [String: [Float]]) throws -> any ClassifierModel { try replacing(values) }

    public func check(_ data: any LabeledData) throws { _ = try NetworkRunner(network: self, data: data, scale: 1) }

    public func outputs(on part: DataPart) throws -> (values: [Float], labels: [Int]) {
        let (values, labels) = try part.runner(self).predictions(part.split)
        return (values, labels)
    }
}

/// Opens the model a checkpoint holds: a spiking network for a NIR graph (simulated with
/// `spiking`, or the defaults), else the Keras model of its `model_config`.
public enum ClassifierModels {
    public static func open(_ checkpoint: any CheckpointFile, spiking: SpikingOptions?) throws -> any ClassifierModel {
        if checkpoint.metadata.nirGraph != nil {
            return SpikingModel(network: try SpikingNetwork(checkpoint: checkpoint), options: spiking ?? SpikingOptions())
        }
        if spiking != nil {
            throw SpikingGraphError.notSpiking(path: checkpoint.path)
        }
        return try Network(checkpoint: checkpoint)
    }
}
