import Checkpoint

/// A spiking network with the options it is simulated with: what evaluation, statistics and the
/// threshold pass run. Its outputs are the output neurons' spike counts.
public struct SpikingModel: ClassifierModel {
    public let network: SpikingNetwork
    public let options: SpikingOptions

    public init(network: SpikingNetwork, options: SpikingOptions) {
        self.network = network
        self.options = options
    }

    public var path: String { network.path }
    public var classes: Int { network.classes }
    public var outputKind: ModelOutputKind { network.readoutSpikes ? .spikeCounts : .potentials }
    public var weightNames: [String] { network.weights.keys.sorted() }

    public func replacingWeights(_ values: [String: [Float]]) throws -> any ClassifierModel { try replacing(values) }

    public func replacing(_ values: [String: [Float]]) throws -> SpikingModel {
        SpikingModel(network: try network.replacing(values), options: options)
    }

    /// Samples must hold one input (rate or current coding) or `steps` inputs (spike trains).
    public func check(_ data: any LabeledData) throws {
        let width = network.inputShape.reduce(1, *), sample = data.sampleShape.reduce(1, *)
        switch options.encoding {
        case .spikes:
            guard data.sampleShape.first == options.steps, sample == options.steps * width else {
                throw EngineError.data(path: data.path, problem: "spike trains of shape \(data.sampleShape) (steps first) do not fit "
                                       + "\(options.steps) steps of the input \(network.inputShape) (\(path))")
            }
        case .rate, .current:
            guard sample == width else {
                throw EngineError.data(path: data.path, problem: "samples of shape \(data.sampleShape) do not fit the model's input \(network.inputShape) (\(path))")
            }
        }
    }

    public func outputs(on part: DataPart) throws -> (values: [Float], labels: [Int]) {
        let measured = try SpikingRunner(model: self, part: part).measure(keepScores: true, record: false)
        return (measured.scores, measured.labels)
    }
}
